/**
 * What the speaker does with the wire's events: new local addresses and links
 * coming and going make it reconcile (a link back up resyncs first) and
 * publish its identity again; a peer's kernel answering for a service IP and
 * an address conflict are logged, the conflict also as a Warning Event on
 * each Service on the IP.
 */
import type { Logger } from 'pino';
import type { WireEvent } from '../arp/index.ts';
import type { ServiceRef } from '../kube/announcements/index.ts';
import type { EventRecorder } from '../kube/events.ts';
import type { ClaimBook } from './claims.ts';
import type { IdentityPublisher } from './identity-publisher.ts';
import type { Resync } from './resync.ts';

export interface WireEventsInit {
  nodeName: string;
  log: Logger;
  claims: ClaimBook;
  events: EventRecorder;
  identity: Pick<IdentityPublisher, 'republishIfChanged'>;
  resync: Pick<Resync, 'after'>;
  /** The Services on an IP, as of the last reconcile. */
  services: (ip: string) => readonly ServiceRef[];
  reconcile: () => void;
}

/** The handler of the wire's events (Wire's onEvent). */
export function wireEvents(init: WireEventsInit): (e: WireEvent) => void {
  const { log, reconcile } = init;
  /** Answering interfaces whose link is down (their coming back starts a resync). */
  const linksDown = new Set<string>();
  return (e) => {
    if (e.type === 'addresses') {
      reconcile();
      return;
    }
    if (e.type === 'peer-answer') {
      // A peer answering for an IP it claims is a race settling (Wire logs it);
      // one answering for an IP it does not claim is its kernel (kernel-answers.ts).
      const holder = init.claims.get(e.ip)?.node;
      if (holder !== e.node)
        log.warn(
          { ip: e.ip, ifname: e.ifname, node: e.node, mac: e.mac, claimedBy: holder ?? null },
          "another node answers ARP for a service IP it does not claim: its kernel does (the IP is an address of one of its interfaces: IPVS without strictARP?); see that node's KernelAnswersServiceIPs Event",
        );
      return;
    }
    if (e.type === 'link') {
      // After the Wire has updated its set (a removal is told before it is done).
      queueMicrotask(() => {
        init.identity.republishIfChanged();
      });
      if (!e.up) linksDown.add(e.ifname);
      else if (linksDown.delete(e.ifname) && init.resync.after('its link is up again')) reconcile();
      return;
    }
    if (e.type !== 'conflict') return;
    log.warn(
      { ip: e.ip, ifname: e.ifname, foreignMac: e.foreignMac, evidence: e.evidence },
      'address conflict',
    );
    for (const s of init.services(e.ip))
      init.events.record({
        regarding: { apiVersion: 'v1', kind: 'Service', namespace: s.namespace, name: s.name, uid: s.uid },
        type: 'Warning',
        reason: 'AddressConflict',
        action: 'Announce',
        note: `${e.foreignMac} also answers for ${e.ip} on ${init.nodeName}/${e.ifname} (${e.evidence}); meshlb does not fight it: find the host with that MAC`,
      });
  };
}
