/**
 * One KubeletCluster per kubelet-tier test file (lab/testbed/kubelet): started
 * in `before` unless the machine cannot run kubelets (the tests then skip,
 * saying what is missing), stopped in `after.always`.
 */
import test from 'ava';
import {
  KubeletCluster,
  kubeletLabPrerequisites,
  type KubeletClusterOptions,
} from '../../lab/testbed/kubelet/cluster.ts';

/** `v`, or a thrown error naming what was missing (the tests' stand-in for `!`). */
export function must<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null) throw new Error(`missing: ${what}`);
  return v;
}

export interface KubeletFixture {
  /** test.serial, or test.serial.skip when kubelets cannot run here. */
  serial: typeof test.serial | typeof test.serial.skip;
  /** The running cluster (throws before `before` ran). */
  cluster: () => KubeletCluster;
}

export function kubeletFixture(
  file: string,
  prefix: string,
  setUp: (c: KubeletCluster) => Promise<void> = () => Promise.resolve(),
  opts: Pick<KubeletClusterOptions, 'nodes' | 'kubeProxy'> = {},
): KubeletFixture {
  const missing = kubeletLabPrerequisites();
  if (missing.length > 0) console.warn(`${file}: skipped: missing ${missing.join(', ')}`);
  let cluster: KubeletCluster | undefined;
  test.before(async (t) => {
    if (missing.length > 0) return;
    cluster = await KubeletCluster.start({
      nodes: 3,
      ...opts,
      prefix,
      onProgress: (l) => {
        t.log(l);
      },
    });
    await setUp(cluster);
  });
  test.after.always(async () => {
    await cluster?.stop();
  });
  return {
    serial: missing.length === 0 ? test.serial : test.serial.skip,
    cluster: () => must(cluster, 'the cluster (before did not run)'),
  };
}
