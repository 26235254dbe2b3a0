import type { Socket } from 'node:net';

/** Relays two connected sockets both ways; either one failing or closing closes both. */
export function splice(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on('error', close);
  b.on('error', close);
}
