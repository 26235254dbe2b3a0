/**
 * The exact length of a frame (codec.ts), computed without allocating, and
 * the encode side of every limit (codec-constants.ts): a message that breaks
 * one throws MeshCodecError here, before anything is written. The encoder
 * (codec-encode.ts) sizes its buffer and its version 2 record lengths with it.
 */
import { MeshCodecError } from './errors.ts';
import {
  CODEC_VERSION,
  EXT_PROTOCOL,
  MAX_ADDR_BYTES,
  MAX_ADDRS,
  MAX_CLAIMS,
  MAX_FRAME_BYTES,
  MAX_GOSSIP_CLAIMS,
  MAX_IP_BYTES,
  MAX_MEMBERS,
  MAX_NAME_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_UPDATES,
  type CodecVersion,
} from './codec-constants.ts';
import type { Endpoint, MemberSnapshot, MeshClaim, Message, Update } from './messages.ts';

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** UTF-8 byte length without allocating (lone surrogates count as U+FFFD: 3 bytes). */
export function utf8Length(s: string): number {
  let len = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        len += 4;
        i++;
      } else len += 3;
    } else len += 3;
  }
  return len;
}

function checkInt(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new MeshCodecError('invalid', `${what} must be an integer 0…2^53-1, got ${n}`);
}

function strSize(s: string, max: number, what: string): number {
  const len = utf8Length(s);
  if (len > max) throw new MeshCodecError('limit', `${what} is ${len} bytes, the limit is ${max}`);
  return varintSize(len) + len;
}

function nameSize(s: string): number {
  if (s === '') throw new MeshCodecError('invalid', 'empty node name');
  return strSize(s, MAX_NAME_BYTES, 'node name');
}

function count(n: number, max: number, what: string): number {
  if (n > max) throw new MeshCodecError('limit', `${n} ${what}, the limit is ${max}`);
  return varintSize(n);
}

function endpointSize(e: Endpoint): number {
  let size = strSize(e.peerId, MAX_PEER_ID_BYTES, 'peer ID') + count(e.addrs.length, MAX_ADDRS, 'addresses');
  for (const a of e.addrs) size += strSize(a, MAX_ADDR_BYTES, 'address');
  return size;
}

/** A record's bytes in `version`: version 2 prefixes its length. */
function recordSize(content: number, version: CodecVersion): number {
  return version === 1 ? content : varintSize(content) + content;
}

export function updateContent(u: Update): number {
  checkInt(u.incarnation, 'incarnation');
  return (
    1 +
    nameSize(u.node) +
    varintSize(u.incarnation) +
    nameSize(u.from) +
    (u.endpoint === undefined ? 0 : endpointSize(u.endpoint))
  );
}

export function snapshotContent(s: MemberSnapshot): number {
  checkInt(s.incarnation, 'incarnation');
  return (
    1 +
    nameSize(s.node) +
    varintSize(s.incarnation) +
    (s.endpoint === undefined ? 0 : endpointSize(s.endpoint))
  );
}

function ipSize(ip: string): number {
  if (ip === '') throw new MeshCodecError('invalid', 'empty IP');
  return strSize(ip, MAX_IP_BYTES, 'IP');
}

export function claimContent(c: MeshClaim): number {
  checkInt(c.epoch, 'epoch');
  return ipSize(c.ip) + nameSize(c.node) + varintSize(c.epoch);
}

function claimsSize(cs: readonly MeshClaim[], max: number, version: CodecVersion): number {
  let size = count(cs.length, max, 'claims');
  for (const c of cs) size += recordSize(claimContent(c), version);
  return size;
}

function updatesSize(us: readonly Update[], version: CodecVersion): number {
  let size = count(us.length, MAX_UPDATES, 'updates');
  for (const u of us) size += recordSize(updateContent(u), version);
  return size;
}

function seqSize(seq: number): number {
  checkInt(seq, 'seq');
  return varintSize(seq);
}

/** The push-pull `protocol` extension: tag, length, value. */
const PROTOCOL_EXT_SIZE = varintSize(EXT_PROTOCOL) + 1 + varintSize(CODEC_VERSION);

/**
 * The exact length of encode(msg, version), computed without allocating.
 * Throws MeshCodecError like encode.
 */
export function encodedSize(msg: Message, version: CodecVersion = CODEC_VERSION): number {
  const from = nameSize(msg.from);
  let body: number;
  switch (msg.type) {
    case 'ping':
      body = seqSize(msg.seq) + from + nameSize(msg.target) + updatesSize(msg.piggyback, version);
      break;
    case 'ack':
      body = seqSize(msg.seq) + from + updatesSize(msg.piggyback, version);
      break;
    case 'ping-req':
      body = seqSize(msg.seq) + from + nameSize(msg.target);
      break;
    case 'nack':
      body = seqSize(msg.seq) + from;
      break;
    case 'gossip':
      body = from + updatesSize(msg.updates, version);
      break;
    case 'push-pull': {
      body = from + 1 + count(msg.members.length, MAX_MEMBERS, 'members');
      for (const s of msg.members) body += recordSize(snapshotContent(s), version);
      body += claimsSize(msg.claims, MAX_CLAIMS, version);
      if (version === 2) body += PROTOCOL_EXT_SIZE;
      break;
    }
    case 'claims':
      body = from + claimsSize(msg.claims, MAX_GOSSIP_CLAIMS, version);
      break;
  }
  const size = 2 + body;
  if (size > MAX_FRAME_BYTES)
    throw new MeshCodecError('too-large', `frame of ${size} bytes, the limit is ${MAX_FRAME_BYTES}`);
  return size;
}
