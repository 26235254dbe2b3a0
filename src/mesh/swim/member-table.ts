/**
 * The members this member knows (memberlist's nodeMap and probe order): one
 * record per node, the count of live ones (alive or suspect) kept current on
 * every state change, and the shuffled round-robin order the probe rounds walk.
 */
import type { Endpoint, MemberSnapshot, MemberState } from '../messages.ts';
import type { Suspicion } from '../suspicion.ts';

/** One member as this member sees it. */
export interface MemberView {
  node: string;
  state: MemberState;
  incarnation: number;
  endpoint?: Endpoint;
  /** Monotonic time of the last state change. */
  since: number;
  suspicion?: { accusers: readonly string[]; timeoutMs: number };
}

/** What the protocol's parts keep about one member. */
export interface MemberRecord {
  node: string;
  state: MemberState;
  incarnation: number;
  endpoint?: Endpoint;
  since: number;
  suspicion?: Suspicion;
  /** When it last came back from dead or left in our view (see UpdateRules: fromOtherSide). */
  revivedAt?: number;
  /** When its last answer came as a datagram (see Checker: UDP_TRUST_MS). */
  datagramAckAt?: number;
  /** Its connection closed and it has sent nothing on a stream since: checks send the stream copy. */
  closed?: boolean;
  /** When a reconnect's answer last started a push-pull with it (see Healer.backFromDead). */
  reconnectedAt?: number;
  /** When it last sent us a direct message (not gossip, which others relay): see Membership.heardAt(). */
  heardAt?: number;
}

const isLive = (state: MemberState): boolean => state === 'alive' || state === 'suspect';

export class MemberTable {
  readonly #self: MemberRecord;
  readonly #random: () => number;
  readonly #members = new Map<string, MemberRecord>();
  #order: string[] = [];
  #orderIndex = 0;
  #live = 1;

  constructor(self: MemberRecord, random: () => number) {
    this.#self = self;
    this.#random = random;
    this.#members.set(self.node, self);
  }

  get self(): MemberRecord {
    return this.#self;
  }

  get(node: string): MemberRecord | undefined {
    return this.#members.get(node);
  }

  has(node: string): boolean {
    return this.#members.has(node);
  }

  get size(): number {
    return this.#members.size;
  }

  values(): IterableIterator<MemberRecord> {
    return this.#members.values();
  }

  /** Members alive or suspected (not dead, not left), this one included. */
  get live(): number {
    return this.#live;
  }

  /** Adds a new member (its state set through setState before, or after: both keep the count). */
  add(r: MemberRecord): void {
    this.#members.set(r.node, r);
    if (isLive(r.state)) this.#live++;
    // A new member goes to a random place in the current round (memberlist does the same).
    const at = this.#orderIndex + Math.floor(this.#random() * (this.#order.length - this.#orderIndex + 1));
    this.#order.splice(at, 0, r.node);
  }

  delete(node: string): void {
    const r = this.#members.get(node);
    if (r === undefined || r === this.#self) return;
    if (isLive(r.state)) this.#live--;
    this.#members.delete(node);
  }

  /** Sets a member's state, keeping the live count (alive + suspect) current. */
  setState(r: MemberRecord, state: MemberState): void {
    const counted = this.#members.get(r.node) === r;
    if (counted && isLive(r.state) !== isLive(state)) this.#live += isLive(state) ? 1 : -1;
    r.state = state;
  }

  /** The next live member to probe, in shuffled round-robin order; a new shuffle per round. */
  nextTarget(): string | undefined {
    for (let tries = 0; tries < 2; tries++) {
      while (this.#orderIndex < this.#order.length) {
        const node = this.#order[this.#orderIndex++] as string;
        const r = this.#members.get(node);
        if (r !== undefined && isLive(r.state) && r !== this.#self) return node;
      }
      this.#order = this.#shuffle(
        [...this.#members.values()].filter((r) => r !== this.#self && isLive(r.state)).map((r) => r.node),
      );
      this.#orderIndex = 0;
    }
    return undefined;
  }

  /** Up to `k` random distinct members that pass `ok`. */
  pick(k: number, ok: (r: MemberRecord) => boolean): MemberRecord[] {
    const candidates = [...this.#members.values()].filter(ok);
    // Partial Fisher-Yates: k random distinct members.
    const n = Math.min(k, candidates.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.#random() * (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j] as MemberRecord, candidates[i] as MemberRecord];
    }
    return candidates.slice(0, n);
  }

  /** Every member as push-pull carries it. */
  snapshots(): MemberSnapshot[] {
    const out: MemberSnapshot[] = [];
    for (const r of this.#members.values()) {
      const s: MemberSnapshot = { node: r.node, state: r.state, incarnation: r.incarnation };
      if (r.endpoint !== undefined) s.endpoint = r.endpoint;
      out.push(s);
    }
    return out;
  }

  #shuffle(xs: string[]): string[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [xs[i], xs[j]] = [xs[j] as string, xs[i] as string];
    }
    return xs;
  }
}

export function view(r: MemberRecord): MemberView {
  const v: MemberView = { node: r.node, state: r.state, incarnation: r.incarnation, since: r.since };
  if (r.endpoint !== undefined) v.endpoint = r.endpoint;
  if (r.suspicion !== undefined)
    v.suspicion = { accusers: r.suspicion.accusers, timeoutMs: r.suspicion.timeout() };
  return v;
}
