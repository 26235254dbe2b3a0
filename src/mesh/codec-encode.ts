/**
 * Writing a frame (codec.ts): the buffer is sized first (codec-size.ts, which
 * also checks every limit), then filled field by field.
 */
import {
  CODEC_VERSION,
  EXT_PROTOCOL,
  HAS_ENDPOINT,
  STATES,
  TYPES,
  type CodecVersion,
} from './codec-constants.ts';
import {
  claimContent,
  encodedSize,
  snapshotContent,
  updateContent,
  utf8Length,
  varintSize,
} from './codec-size.ts';
import type { Endpoint, MemberSnapshot, MeshClaim, Message, Update } from './messages.ts';

const utf8 = new TextEncoder();

class Writer {
  readonly buf: Uint8Array;
  readonly version: CodecVersion;
  pos = 0;

  constructor(size: number, version: CodecVersion) {
    this.buf = new Uint8Array(size);
    this.version = version;
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  str(s: string): void {
    const len = utf8Length(s);
    this.varint(len);
    utf8.encodeInto(s, this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
  }

  /** Version 2's length before a record (its content measured by `size`). */
  record(size: () => number): void {
    if (this.version === 2) this.varint(size());
  }

  endpoint(e: Endpoint): void {
    this.str(e.peerId);
    this.varint(e.addrs.length);
    for (const a of e.addrs) this.str(a);
  }

  updates(us: readonly Update[]): void {
    this.varint(us.length);
    for (const u of us) {
      this.record(() => updateContent(u));
      this.byte(STATES.indexOf(u.kind) | (u.endpoint === undefined ? 0 : HAS_ENDPOINT));
      this.str(u.node);
      this.varint(u.incarnation);
      this.str(u.from);
      if (u.endpoint !== undefined) this.endpoint(u.endpoint);
    }
  }

  snapshot(s: MemberSnapshot): void {
    this.record(() => snapshotContent(s));
    this.byte(STATES.indexOf(s.state) | (s.endpoint === undefined ? 0 : HAS_ENDPOINT));
    this.str(s.node);
    this.varint(s.incarnation);
    if (s.endpoint !== undefined) this.endpoint(s.endpoint);
  }

  claims(cs: readonly MeshClaim[]): void {
    this.varint(cs.length);
    for (const c of cs) {
      this.record(() => claimContent(c));
      this.str(c.ip);
      this.str(c.node);
      this.varint(c.epoch);
    }
  }
}

/**
 * Encodes a message in `version` (default: this release's; 1 for a peer that
 * reads only version 1). Throws MeshCodecError when it breaks a limit.
 */
export function encode(msg: Message, version: CodecVersion = CODEC_VERSION): Uint8Array {
  const w = new Writer(encodedSize(msg, version), version);
  w.byte(version);
  w.byte(TYPES.indexOf(msg.type) + 1);
  switch (msg.type) {
    case 'ping':
      w.varint(msg.seq);
      w.str(msg.from);
      w.str(msg.target);
      w.updates(msg.piggyback);
      break;
    case 'ack':
      w.varint(msg.seq);
      w.str(msg.from);
      w.updates(msg.piggyback);
      break;
    case 'ping-req':
      w.varint(msg.seq);
      w.str(msg.from);
      w.str(msg.target);
      break;
    case 'nack':
      w.varint(msg.seq);
      w.str(msg.from);
      break;
    case 'gossip':
      w.str(msg.from);
      w.updates(msg.updates);
      break;
    case 'push-pull':
      w.str(msg.from);
      w.byte((msg.join ? 1 : 0) | (msg.reply ? 2 : 0));
      w.varint(msg.members.length);
      for (const s of msg.members) w.snapshot(s);
      w.claims(msg.claims);
      if (version === 2) {
        w.varint(EXT_PROTOCOL);
        w.varint(varintSize(CODEC_VERSION));
        w.varint(CODEC_VERSION);
      }
      break;
    case 'claims':
      w.str(msg.from);
      w.claims(msg.claims);
      break;
  }
  return w.buf;
}
