/**
 * Reading a frame (codec.ts), of either version: every limit is checked as
 * the bytes come, and whatever the bytes, the only error is MeshCodecError.
 */
import { MeshCodecError } from './errors.ts';
import {
  CODEC_VERSION,
  EXT_PROTOCOL,
  HAS_ENDPOINT,
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
  MIN_CODEC_VERSION,
  STATES,
  TYPES,
  type CodecVersion,
} from './codec-constants.ts';
import type {
  Endpoint,
  MemberSnapshot,
  MemberState,
  MeshClaim,
  Message,
  PushPull,
  Update,
} from './messages.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

class Reader {
  readonly #buf: Uint8Array;
  readonly version: CodecVersion;
  pos = 0;
  /** Where the current part (the frame, or a version 2 record) ends. */
  end: number;

  constructor(buf: Uint8Array, version: CodecVersion) {
    this.#buf = buf;
    this.version = version;
    this.end = buf.length;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos >= this.end) throw new MeshCodecError('truncated', `frame ends at byte ${this.pos}`);
    const b = this.#buf[this.pos] as number;
    this.pos++;
    return b;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.byte();
      if (i === 7 && b > 0x1f) throw new MeshCodecError('bad-varint', 'varint above 2^53-1');
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new MeshCodecError('bad-varint', 'varint not in minimal form');
        return n;
      }
      scale *= 0x80;
    }
  }

  count(max: number, what: string): number {
    const n = this.varint();
    if (n > max) throw new MeshCodecError('limit', `${n} ${what}, the limit is ${max}`);
    return n;
  }

  bytes(len: number, what: string): Uint8Array {
    if (len > this.remaining) throw new MeshCodecError('truncated', `${what} runs past the end of the frame`);
    const out = this.#buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  str(max: number, what: string): string {
    const bytes = this.bytes(this.count(max, `bytes of ${what}`), what);
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new MeshCodecError('bad-utf8', `${what} is not valid UTF-8`);
    }
  }

  name(): string {
    const s = this.str(MAX_NAME_BYTES, 'node name');
    if (s === '') throw new MeshCodecError('invalid', 'empty node name');
    return s;
  }

  stateAndFlag(): [MemberState, boolean] {
    const b = this.byte();
    const state = STATES[b & 0x7f];
    if (state === undefined) throw new MeshCodecError('invalid', `unknown member state ${b & 0x7f}`);
    return [state, (b & HAS_ENDPOINT) !== 0];
  }

  endpoint(): Endpoint {
    const peerId = this.str(MAX_PEER_ID_BYTES, 'peer ID');
    const n = this.count(MAX_ADDRS, 'addresses');
    const addrs: string[] = [];
    for (let i = 0; i < n; i++) addrs.push(this.str(MAX_ADDR_BYTES, 'address'));
    return { peerId, addrs };
  }

  /**
   * Version 2's extensions up to the end of the current part: each is read
   * whole (a malformed one is an error), given to `known` by tag, and skipped
   * when `known` does not take it (a field of a later release).
   */
  extensions(known: (tag: number, value: Reader) => boolean = () => false): void {
    while (this.remaining > 0) {
      const tag = this.varint();
      const value = this.bytes(this.varint(), 'extension');
      const r = new Reader(value, this.version);
      if (known(tag, r) && r.remaining !== 0)
        throw new MeshCodecError('invalid', `extension ${tag} has ${r.remaining} bytes too many`);
    }
  }

  /** One record: in version 2 length-prefixed, its unknown extensions skipped. */
  record<T>(read: () => T): T {
    if (this.version === 1) return read();
    const len = this.varint();
    if (len > this.remaining) throw new MeshCodecError('truncated', 'record runs past the end of the frame');
    const outer = this.end;
    this.end = this.pos + len;
    try {
      const v = read();
      this.extensions();
      return v;
    } finally {
      this.end = outer;
    }
  }

  updates(): Update[] {
    const n = this.count(MAX_UPDATES, 'updates');
    const out: Update[] = [];
    for (let i = 0; i < n; i++)
      out.push(
        this.record(() => {
          const [kind, hasEndpoint] = this.stateAndFlag();
          const u: Update = { kind, node: this.name(), incarnation: this.varint(), from: this.name() };
          if (hasEndpoint) u.endpoint = this.endpoint();
          return u;
        }),
      );
    return out;
  }

  snapshot(): MemberSnapshot {
    return this.record(() => {
      const [state, hasEndpoint] = this.stateAndFlag();
      const s: MemberSnapshot = { node: this.name(), state, incarnation: this.varint() };
      if (hasEndpoint) s.endpoint = this.endpoint();
      return s;
    });
  }

  claims(max: number): MeshClaim[] {
    const n = this.count(max, 'claims');
    const out: MeshClaim[] = [];
    for (let i = 0; i < n; i++)
      out.push(
        this.record(() => {
          const ip = this.str(MAX_IP_BYTES, 'IP');
          if (ip === '') throw new MeshCodecError('invalid', 'empty IP');
          return { ip, node: this.name(), epoch: this.varint() };
        }),
      );
    return out;
  }
}

/** A decoded frame and the version it came in (a sender's frames tell what it reads). */
export interface DecodedFrame {
  msg: Message;
  version: CodecVersion;
}

/** Decodes one frame, of either version. Throws MeshCodecError (and nothing else) for any bytes that are not a valid message. */
export function decodeFrame(bytes: Uint8Array): DecodedFrame {
  if (bytes.length > MAX_FRAME_BYTES) {
    throw new MeshCodecError('too-large', `frame of ${bytes.length} bytes, the limit is ${MAX_FRAME_BYTES}`);
  }
  const version = bytes[0];
  if (version === undefined) throw new MeshCodecError('truncated', 'empty frame');
  if (version !== 1 && version !== 2)
    throw new MeshCodecError(
      'bad-version',
      `version ${version}, expected ${MIN_CODEC_VERSION}…${CODEC_VERSION}`,
    );
  const r = new Reader(bytes, version);
  r.pos = 1;
  const typeByte = r.byte();
  const type = TYPES[typeByte - 1];
  if (type === undefined) throw new MeshCodecError('unknown-type', `message type ${typeByte}`);
  let msg: Message;
  switch (type) {
    case 'ping':
      msg = { type, seq: r.varint(), from: r.name(), target: r.name(), piggyback: r.updates() };
      break;
    case 'ack':
      msg = { type, seq: r.varint(), from: r.name(), piggyback: r.updates() };
      break;
    case 'ping-req':
      msg = { type, seq: r.varint(), from: r.name(), target: r.name() };
      break;
    case 'nack':
      msg = { type, seq: r.varint(), from: r.name() };
      break;
    case 'gossip':
      msg = { type, from: r.name(), updates: r.updates() };
      break;
    case 'push-pull': {
      const from = r.name();
      const flags = r.byte();
      if (flags > 3) throw new MeshCodecError('invalid', `unknown push-pull flags ${flags}`);
      const n = r.count(MAX_MEMBERS, 'members');
      const members: MemberSnapshot[] = [];
      for (let i = 0; i < n; i++) members.push(r.snapshot());
      const claims = r.claims(MAX_CLAIMS);
      const pp: PushPull = { type, from, join: (flags & 1) !== 0, reply: (flags & 2) !== 0, members, claims };
      if (version === 2)
        r.extensions((tag, value) => {
          if (tag !== EXT_PROTOCOL) return false;
          pp.protocol = value.varint();
          return true;
        });
      msg = pp;
      break;
    }
    case 'claims':
      msg = { type, from: r.name(), claims: r.claims(MAX_GOSSIP_CLAIMS) };
      break;
  }
  if (version === 2) r.extensions();
  else if (r.remaining !== 0)
    throw new MeshCodecError('trailing-bytes', `${r.remaining} bytes after the message`);
  return { msg, version };
}

/** Decodes one frame of either version (decodeFrame without the version). */
export function decode(bytes: Uint8Array): Message {
  return decodeFrame(bytes).msg;
}
