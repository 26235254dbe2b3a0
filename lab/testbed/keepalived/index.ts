/**
 * keepalived (VRRPv3) on the network testbed, to compare its failover with
 * meshlb's: startKeepalived runs one keepalived per host holding a Service IP,
 * keepalivedLinkCutTrial pulls the MASTER's cable and measures the outage the
 * client sees. Needs root and Debian's keepalived (scripts/bootstrap.sh).
 *
 *   const lan = await createLan({ hosts: 3 });
 *   const ka = await startKeepalived(lan, lan.hosts, { vip: '198.51.100.20', advertIntervalMs: 100 });
 *   const { outageMs, newMaster } = await keepalivedLinkCutTrial(ka);
 *   await ka.stop();
 *   await lan.teardown();
 */
export {
  ADVERT_INTERVALS,
  defaultPriorities,
  keepalivedConfig,
  type AdvertIntervalMs,
  type InstanceConfig,
} from './config.ts';
export {
  KeepalivedCluster,
  startKeepalived,
  type KeepalivedOptions,
  type StateChange,
  type VrrpState,
} from './cluster.ts';
export { KeepalivedExitedError, KeepalivedTimeoutError } from './errors.ts';
export { keepalivedLinkCutTrial, type LinkCutOptions, type LinkCutResult } from './link-cut.ts';
export { keepalivedLossTrial, type LossResult } from './loss.ts';
