/**
 * Rendezvous (highest random weight) hashing: every node gets a pseudo-random
 * score per IP; the highest eligible score wins. Every speaker computes the
 * same order without coordination; Services that share an IP share its
 * order; a node joining or leaving changes only the IPs it tops or held.
 */

function fnv1a(s: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // murmur3's finaliser: FNV alone mixes the last characters poorly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The score of `node` for `ip`: a 53-bit integer, the same on every machine. */
export function rendezvousScore(node: string, ip: string): number {
  const key = `${ip}\u0000${node}`;
  return (fnv1a(key, 0x811c9dc5) & 0x1fffff) * 2 ** 32 + fnv1a(key, 0x9747b28c);
}

/** Orders nodes best first for `ip` (ties, practically impossible, broken by name). */
export function rankNodes(ip: string, nodes: Iterable<string>): string[] {
  const scored = [...nodes].map((n) => ({ n, s: rendezvousScore(n, ip) }));
  scored.sort((a, b) => b.s - a.s || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  return scored.map((x) => x.n);
}
