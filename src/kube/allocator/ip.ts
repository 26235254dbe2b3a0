/**
 * The allocator's address rules. Address text and pool entries are src/ip's (one
 * parser with the API: a CIDR with host bits set is refused, as the CRD's CEL rule does).
 */
import type { AddressRange, Family } from '../../ip/index.ts';

/** IPv4 addresses ending in .0 or .255, which some old clients and routers mishandle. */
export function isBuggyIp(family: Family, value: bigint): boolean {
  if (family !== 4) return false;
  const low = value & 0xffn;
  return low === 0n || low === 255n;
}

/** How many addresses of [first, last] end in .0 or .255 (IPv4 only; 0 for IPv6). */
export function countBuggy(r: AddressRange): bigint {
  if (r.family !== 4) return 0n;
  // Addresses ≡ k (mod 256) in [0, x]: floor((x - k) / 256) + 1 when x ≥ k.
  const upTo = (x: bigint, k: bigint): bigint => (x < k ? 0n : (x - k) / 256n + 1n);
  const inRange = (k: bigint): bigint => upTo(r.last, k) - (r.first === 0n ? 0n : upTo(r.first - 1n, k));
  return inRange(0n) + inRange(255n);
}
