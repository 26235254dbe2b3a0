/**
 * RFC 4861 validity checks that a well-formed NS / NA can still fail
 * (§7.1.1 for solicitations, §7.1.2 for advertisements). The parser has done
 * the rest (checksum, code 0, length, option lengths). A responder silently
 * drops a message that fails any of them, and may count it by reason.
 */
import { ipv6ToBytes } from '../../ip/index.ts';
import type { NdpFrame } from './ndp.ts';
import { NDP_HOP_LIMIT } from './ndp.ts';

/**
 * Why a parsed NS / NA must be dropped:
 * - `hop-limit`: IPv6 hop limit is not 255 (the message may come from off-link).
 * - `multicast-target`: the target address is multicast.
 * - `dad-with-source-link-layer`: source `::` and a source link-layer option.
 * - `dad-not-to-solicited-node`: source `::` and a destination that is not a
 *   solicited-node multicast address (ff02::1:ff00:0/104).
 * - `solicited-to-multicast`: an NA to a multicast destination with the
 *   solicited flag set.
 */
export type NdpViolation =
  | 'hop-limit'
  | 'multicast-target'
  | 'dad-with-source-link-layer'
  | 'dad-not-to-solicited-node'
  | 'solicited-to-multicast';

const SOLICITED_NODE_PREFIX = Uint8Array.of(0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff);

function isSolicitedNode(ip: string): boolean {
  const b = ipv6ToBytes(ip);
  return SOLICITED_NODE_PREFIX.every((v, i) => b[i] === v);
}

/** The first RFC 4861 rule `frame` breaks, or undefined when it may be processed. */
export function ndpViolation(frame: NdpFrame): NdpViolation | undefined {
  if (frame.ipv6.hopLimit !== NDP_HOP_LIMIT) return 'hop-limit';
  if (ipv6ToBytes(frame.target)[0] === 0xff) return 'multicast-target';
  if (frame.kind === 'ns') {
    if (frame.dad && frame.sourceLinkLayer !== undefined) return 'dad-with-source-link-layer';
    if (frame.dad && !isSolicitedNode(frame.ipv6.dst)) return 'dad-not-to-solicited-node';
  } else if (frame.solicited && ipv6ToBytes(frame.ipv6.dst)[0] === 0xff) {
    return 'solicited-to-multicast';
  }
  return undefined;
}
