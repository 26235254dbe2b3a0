/**
 * Before a speaker takes the IP of an `externalTrafficPolicy: Local` Service,
 * it asks its own node's kube-proxy whether it delivers that Service here yet:
 * GET on the Service's `healthCheckNodePort` at the node's address, the
 * endpoint cloud load balancers probe for the same reason. kube-proxy answers
 * 200 once the rules it wrote send the Service's traffic to a ready Pod on
 * this node, 503 before that.
 *
 * Why: a Pod that just became ready on a node is in the EndpointSlice (and so
 * in meshlb's election) before that node's kube-proxy has written it into its
 * rules: kube-proxy writes at most once a second (`minSyncPeriod`), and a
 * large iptables rule set takes longer. Taking the IP then sends the clients
 * to a node that drops their traffic; measured with a real kube-proxy
 * (nftables) in a rollout restart of the backends: 80 failed requests over
 * 800 ms. Meanwhile nothing is lost by waiting: the node that held the IP
 * still has its draining Pod, and clients keep sending to it until the taker's
 * gratuitous ARP.
 *
 * An answer other than 200 or 503 (nothing listens: no kube-proxy, or a
 * replacement without health checks) cannot tell and does not hold the take
 * back; nor does anything after `waitMs` (then it is logged).
 */
import { request } from 'node:http';
import type { Logger } from 'pino';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { OwnedTimers, type Clock, type Startable } from '../clock/index.ts';

/** kube-proxy's answer: 200, 503, or anything else (including no answer). */
export type LocalTrafficAnswer = 'delivers' | 'not-yet' | 'unknown';

/** One health check port of a Local Service on the IP, at this node's address. */
export interface LocalTrafficTarget {
  host: string;
  port: number;
}

export type AskLocalTraffic = (target: LocalTrafficTarget, timeoutMs: number) => Promise<LocalTrafficAnswer>;

/**
 * The default of `localTrafficWaitMs`: kube-proxy writes its rules at most once
 * a second (`minSyncPeriod`, 1 s by default) and a large iptables rule set
 * takes a second or two more to write; past this something else is wrong, and
 * an IP nobody announces helps no one, so the take goes ahead (logged).
 */
export const LOCAL_TRAFFIC_WAIT_MS = 3_000;

/** Between asks while kube-proxy answers 503: its rules change at most once a second. */
export const LOCAL_TRAFFIC_RETRY_MS = 100;
/** An ask's deadline: kube-proxy on this node answers in about a millisecond. */
export const LOCAL_TRAFFIC_ASK_TIMEOUT_MS = 250;

/** How a wait ended: kube-proxy said 200, nothing that tells answered, or waitMs passed. */
export type LocalTrafficResult = 'delivered' | 'unknown' | 'gave-up';

export interface LocalTrafficGateInit {
  clock: Clock;
  /** At most this long an IP waits for kube-proxy (0: never ask). */
  waitMs: number;
  /** Called when an answer may change a decision (the speaker reconciles). */
  onChange: () => void;
  ask?: AskLocalTraffic;
  log?: Logger;
  /** Each take that asked: how it ended and how long it waited (a metric). */
  onResult?: (result: LocalTrafficResult, waitedMs: number) => void;
}

interface Waiting {
  since: number;
  answers: Map<string, LocalTrafficAnswer>;
  asking: Set<string>;
}

const keyOf = (t: LocalTrafficTarget): string => `${t.host}:${String(t.port)}`;

export class LocalTrafficGate implements Startable {
  readonly #init: LocalTrafficGateInit;
  readonly #ask: AskLocalTraffic;
  readonly #waiting = new Map<string, Waiting>();
  /** The retry timers (one per 503 answer). */
  readonly #timers: OwnedTimers;
  #stopped = false;

  constructor(init: LocalTrafficGateInit) {
    this.#init = init;
    this.#ask = init.ask ?? askKubeProxy;
    this.#timers = new OwnedTimers(init.clock);
  }

  /**
   * Whether this node may take `ip` now, given the health check ports of the
   * Local Services on it (none: at once). Asks what it has not asked yet;
   * false until every port answered 200 (or could not tell), or `waitMs` passed.
   */
  mayTake(ip: string, targets: readonly LocalTrafficTarget[]): boolean {
    if (this.#init.waitMs <= 0 || targets.length === 0 || this.#stopped) return true;
    const now = this.#init.clock.now();
    let w = this.#waiting.get(ip);
    if (w === undefined) {
      w = { since: now, answers: new Map(), asking: new Set() };
      this.#waiting.set(ip, w);
    }
    let ready = true;
    for (const t of targets) {
      const a = w.answers.get(keyOf(t));
      if (a !== undefined && a !== 'not-yet') continue;
      ready = false;
      // A 503 stands until its retry timer drops it (#start); then ask again.
      if (a === undefined) this.#start(ip, w, t);
    }
    if (ready) {
      this.#waiting.delete(ip);
      const delivered = [...w.answers.values()].every((a) => a === 'delivers');
      this.#init.onResult?.(delivered ? 'delivered' : 'unknown', now - w.since);
      if (delivered && now > w.since)
        this.#init.log?.info(
          { ip, waitedMs: Math.round(now - w.since) },
          "this node's kube-proxy delivers the Service: taking the IP",
        );
      return true;
    }
    if (now - w.since >= this.#init.waitMs) {
      this.#waiting.delete(ip);
      this.#init.onResult?.('gave-up', now - w.since);
      this.#init.log?.warn(
        { ip, waitedMs: Math.round(now - w.since), targets: targets.map(keyOf) },
        "taking the IP although this node's kube-proxy does not report the Service's local endpoint yet",
      );
      return true;
    }
    return false;
  }

  /** Forgets the IPs not in `ips` (decided elsewhere meanwhile): a later take asks anew. */
  retain(ips: ReadonlySet<string>): void {
    for (const ip of this.#waiting.keys()) if (!ips.has(ip)) this.#waiting.delete(ip);
  }

  /** IPs waiting for kube-proxy now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  start(): void {
    // Nothing to arm: a take asks first (mayTake()).
  }

  stop(): void {
    this.#stopped = true;
    this.#timers.cancelAll();
    this.#waiting.clear();
  }

  #start(ip: string, w: Waiting, t: LocalTrafficTarget): void {
    const key = keyOf(t);
    if (w.asking.has(key)) return;
    w.asking.add(key);
    void this.#ask(t, LOCAL_TRAFFIC_ASK_TIMEOUT_MS).then((answer) => {
      w.asking.delete(key);
      if (this.#stopped || this.#waiting.get(ip) !== w) return;
      if (answer === 'not-yet' && w.answers.get(key) === undefined)
        this.#init.log?.info(
          { ip, target: key },
          "waiting for this node's kube-proxy to deliver the Service before taking the IP",
        );
      w.answers.set(key, answer);
      if (answer !== 'not-yet') {
        this.#init.onChange();
        return;
      }
      // The timer, not a comparison of times, makes the next ask: a timer may
      // fire a fraction of a millisecond before the clock says it is due.
      this.#timers.after(LOCAL_TRAFFIC_RETRY_MS, () => {
        w.answers.delete(key);
        this.#init.onChange();
      });
    });
  }
}

/** GET http://host:port/ : 200 delivers, 503 not yet, anything else (or nothing) unknown. */
export function askKubeProxy(target: LocalTrafficTarget, timeoutMs: number): Promise<LocalTrafficAnswer> {
  return new Promise((resolve) => {
    const req = request({ host: target.host, port: target.port, path: '/', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? 'delivers' : res.statusCode === 503 ? 'not-yet' : 'unknown');
    });
    req.on('timeout', () => {
      req.destroy();
    });
    req.on('error', () => {
      resolve('unknown');
    });
    req.end();
  });
}

/**
 * The health check ports to ask before taking an IP of `family`: those of
 * the Local Services among `services` (the Services on the IP), at this
 * node's InternalIP of that family (kube-proxy in nftables mode listens on the
 * node's primary addresses only, not on loopback), or its first InternalIP.
 */
export function localTrafficTargets(
  services: readonly V1Service[],
  node: V1Node | undefined,
  family: 4 | 6,
): LocalTrafficTarget[] {
  const ports = [
    ...new Set(
      services.flatMap((s) =>
        s.spec?.externalTrafficPolicy === 'Local' && s.spec.healthCheckNodePort !== undefined
          ? [s.spec.healthCheckNodePort]
          : [],
      ),
    ),
  ];
  if (ports.length === 0) return [];
  const internal = (node?.status?.addresses ?? [])
    .filter((a) => a.type === 'InternalIP')
    .map((a) => a.address);
  const host = internal.find((a) => a.includes(':') === (family === 6)) ?? internal[0];
  return host === undefined ? [] : ports.sort((a, b) => a - b).map((port) => ({ host, port }));
}
