/**
 * Last-resort cleanup for test harnesses: synchronous functions run when the
 * process exits or is interrupted (SIGINT, SIGTERM, SIGHUP), so a failing or
 * interrupted test leaves no namespace or server behind. SIGKILL cannot be
 * caught: each harness also sweeps what dead processes left at its next start.
 */
const actions = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const a of [...actions]) {
    actions.delete(a);
    try {
      a();
    } catch {
      // best effort: one failure must not stop the others
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(signal, () => {
      runAll();
      process.exit(code);
    });
  }
}

/** Registers a synchronous cleanup; returns a function that unregisters it. */
export function onExit(action: () => void): () => void {
  install();
  actions.add(action);
  return () => actions.delete(action);
}

/** True when a process with this pid exists (signal 0 probe). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
