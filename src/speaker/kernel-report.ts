import type { Logger } from 'pino';
import type { Clock, Startable } from '../clock/index.ts';
import type { KubeClient } from '../kube/client/index.ts';
import type { EventRecorder } from '../kube/events.ts';
import { setPodCondition, type PodCondition } from '../kube/world/index.ts';
import { KERNEL_ANSWERS_CONDITION, kernelAnswers, readArpIgnore } from './kernel-answers.ts';

const FIX =
  'kube-proxy in IPVS mode: set strictARP: true (--ipvs-strict-arp); otherwise remove the address or set net.ipv4.conf.<interface>.arp_ignore=1 and arp_announce=2';

export interface KernelReportInit {
  kube: KubeClient;
  namespace: string;
  podName: string;
  nodeName: string;
  /** The interfaces the speaker answers on. */
  interfaces: readonly string[];
  clock: Clock;
  log: Logger;
  events: EventRecorder;
  /** The Node's uid, for the Event (undefined while unknown). */
  nodeUid: () => string | undefined;
  /** The number of service IPs the kernel answers for (a metric). */
  answered?: (ips: number) => void;
  /** Aborted on the speaker's stop: a condition write in flight ends. */
  signal: AbortSignal;
  arpIgnore?: (ifname: string) => number | undefined;
}

/**
 * This node's kernel answering ARP for service IPs by itself
 * (kernel-answers.ts), said loudly once per change: a log line naming the
 * fix, a metric, a Warning Event on the Node, and the condition
 * meshlb.io/KernelAnswersServiceIPs on the speaker's own Pod.
 */
export class KernelReport implements Startable {
  readonly #init: KernelReportInit;
  /** What check() last found (JSON; reported when it changes). */
  #found = '';
  /** The condition last written on the Pod (JSON), and one is being written. */
  #condition = '';
  #writing = false;
  #failed = '';
  #stopped = false;

  constructor(init: KernelReportInit) {
    this.#init = init;
  }

  /** Checks the announced service IPs against this node's addresses (`local`). */
  check(ips: readonly string[], local: ReadonlySet<string>): void {
    const { interfaces, log, nodeName } = this.#init;
    const found = kernelAnswers(ips, local, interfaces, this.#init.arpIgnore ?? readArpIgnore);
    const key = JSON.stringify(found);
    this.#writeCondition(found);
    if (key === this.#found) return;
    const before = this.#found;
    this.#found = key;
    this.#init.answered?.(found.ips.length);
    if (found.ips.length === 0) {
      if (before !== '') log.info('the kernel no longer answers ARP for a service IP by itself');
      return;
    }
    log.warn(
      { ips: found.ips, interfaces: found.interfaces, fix: FIX },
      "this node's kernel answers ARP for service IPs by itself (they are addresses of a local interface, and arp_ignore is 0): it answers with its own MAC whoever announces them",
    );
    const uid = this.#init.nodeUid();
    this.#init.events.record({
      regarding: {
        apiVersion: 'v1',
        kind: 'Node',
        namespace: '',
        name: nodeName,
        ...(uid === undefined ? {} : { uid }),
      },
      type: 'Warning',
      reason: 'KernelAnswersServiceIPs',
      action: 'Announce',
      note: `the kernel answers ARP for ${found.ips.join(', ')} on ${found.interfaces.join(', ')} (addresses of a local interface, arp_ignore 0), whoever meshlb elected: ${FIX}`,
    });
  }

  start(): void {
    // Nothing to arm: each reconcile checks (check()).
  }

  /** No more writes (a write in flight ends with the speaker's signal). */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * The Pod condition: True naming the IPs and the fix, False once none is
   * found. Written when it changes; a write that fails is tried again at the
   * next check.
   */
  #writeCondition(found: { ips: readonly string[]; interfaces: readonly string[] }): void {
    const condition: PodCondition =
      found.ips.length > 0
        ? {
            type: KERNEL_ANSWERS_CONDITION,
            status: 'True',
            reason: 'ServiceIPsOnLocalInterface',
            message: `the kernel answers ARP for ${found.ips.join(', ')} on ${found.interfaces.join(', ')} by itself (arp_ignore 0): kube-proxy in IPVS mode needs strictARP: true`,
          }
        : {
            type: KERNEL_ANSWERS_CONDITION,
            status: 'False',
            reason: 'NoServiceIPOnLocalInterface',
            message: 'no service IP is an address of a local interface answered by the kernel',
          };
    const key = JSON.stringify(condition);
    if (key === this.#condition || this.#writing || this.#stopped) return;
    this.#writing = true;
    const { kube, namespace, podName, clock, signal, log } = this.#init;
    setPodCondition(kube, namespace, podName, condition, new Date(clock.wallNow()), signal)
      .then(
        () => {
          this.#condition = key;
        },
        (err: unknown) => {
          // Once per condition (tried again at every check while the API server is away).
          if (this.#stopped) return;
          const level = this.#failed === key ? 'debug' : 'warn';
          this.#failed = key;
          log[level]({ err, pod: podName }, `cannot set the Pod condition ${KERNEL_ANSWERS_CONDITION}`);
        },
      )
      .finally(() => {
        this.#writing = false;
      });
  }
}
