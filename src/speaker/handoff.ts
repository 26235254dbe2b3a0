/**
 * The speaker's leave, one part (clock/lifecycle.ts). Started once every part
 * it acts through runs (from then on the speaker acts on its decisions:
 * `acting`); stopped before them. Its stop leaves the mesh and, with
 * hand-off (SIGTERM), keeps answering until a successor claims each IP, at
 * most timeoutMs (make-before-break); then it stops answering at once (the
 * reconcile, the wire), whatever the parts stopped after it take: answering
 * on while the others take over would make two MACs answer.
 */
import type { Logger } from 'pino';
import type { Wire } from '../arp/index.ts';
import type { Clock, Startable, Timer } from '../clock/index.ts';
import type { Coalescer } from '../kube/world/index.ts';
import type { Announcer } from './announcer.ts';
import type { SpeakerMesh } from './speaker-mesh.ts';

export interface HandoffInit {
  clock: Clock;
  log: Logger;
  /** The longest hand-off. */
  timeoutMs: number;
  mesh: Pick<SpeakerMesh, 'membership' | 'watch'>;
  /** What the node answers for; each reconcile while leaving withdraws what a successor claimed. */
  announcer: Pick<Announcer, 'held' | 'clear'>;
  reconcile: Pick<Coalescer, 'request' | 'stop'>;
  wire: Pick<Wire, 'stop'>;
}

export class Handoff implements Startable {
  readonly #init: HandoffInit;
  #started = false;
  #stopped = false;
  #handoff = false;
  #done: (() => void) | undefined;

  constructor(init: HandoffInit) {
    this.#init = init;
  }

  /** Started: every part the speaker acts through runs, and it acts on its decisions. */
  get acting(): boolean {
    return this.#started;
  }

  /** Whether stop() hands the IPs over (SIGTERM) or leaves at once. */
  set handoff(on: boolean) {
    this.#handoff = on;
  }

  start(): void {
    this.#started = true;
  }

  /** While leaving, the node holds nothing more: the hand-off is over. */
  handedOff(): void {
    this.#done?.();
  }

  async stop(): Promise<void> {
    if (!this.#started || this.#stopped) return;
    this.#stopped = true;
    const { mesh, announcer, clock, log } = this.#init;
    const m = mesh.membership;
    if (this.#handoff && m !== undefined && announcer.held.size > 0) {
      const started = clock.now();
      const done = new Promise<void>((resolve) => {
        this.#done = resolve;
      });
      mesh.watch?.stop();
      m.leave();
      this.#init.reconcile.request();
      let timer: Timer | undefined;
      await Promise.race([
        done,
        new Promise<void>((resolve) => {
          timer = clock.setTimeout(resolve, this.#init.timeoutMs);
        }),
      ]);
      timer?.cancel();
      log.info({ ms: clock.now() - started, notHandedOff: [...announcer.held.keys()] }, 'hand-off finished');
    } else {
      mesh.watch?.stop();
      m?.leave();
    }
    this.#init.reconcile.stop();
    this.#init.wire.stop();
    announcer.clear();
  }
}
