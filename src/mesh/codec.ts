/**
 * Binary encoding of mesh messages (messages.ts), for libp2p streams, the
 * datagram path and the gossipsub topic. Two versions, both always read
 * (docs/mesh.md, "Mixed versions"):
 *
 * Version 2 (written by default): version 1's fields in version 1's order,
 * but every record (update, snapshot, claim) is `varint(length) fields ext*`
 * and the body ends with `ext*`, where `ext = varint(tag) varint(length)
 * bytes`. A reader takes the fields it knows and skips what follows them: a
 * later release adds fields without a version bump, and this one reads its
 * frames. Known extensions: push-pull tag 1, `protocol` (varint): the highest
 * frame version the sender reads, so a joiner is told what it may send.
 *
 * Version 1 (what speakers before version 2 read, and so what is sent to them):
 * no lengths, no extensions, trailing bytes refused. Layout (all integers
 * unsigned LEB128 varints, minimal form):
 *
 *   frame    = version(1 byte = 1) type(1 byte) body
 *   string   = varint(byte length) UTF-8 bytes (strictly decoded)
 *   endpoint = string(peerId) varint(count) string(addr)*
 *   update   = kind(1 byte: state | 0x80 if endpoint) string(node) varint(incarnation) string(from) [endpoint]
 *   snapshot = state(1 byte: state | 0x80 if endpoint) string(node) varint(incarnation) [endpoint]
 *   ping     = varint(seq) string(from) string(target) varint(n) update*n
 *   ack      = varint(seq) string(from) varint(n) update*n
 *   ping-req = varint(seq) string(from) string(target)
 *   nack     = varint(seq) string(from)
 *   claim    = string(ip) string(node) varint(epoch)
 *   gossip   = string(from) varint(n) update*n
 *   push-pull= string(from) flags(1 byte: 1 join, 2 reply) varint(n) snapshot*n varint(m) claim*m
 *   claims   = string(from) varint(m) claim*m
 *
 * Type bytes: ping 1, ack 2, ping-req 3, nack 4, gossip 5, push-pull 6, claims 7.
 * An IP is non-empty text of at most MAX_IP_BYTES (the mesh does not parse it).
 *
 * Every limit below is enforced on encode and decode; decode throws only
 * MeshCodecError, whatever the bytes.
 */
import { MeshCodecError } from './errors.ts';
import type {
  Endpoint,
  MemberSnapshot,
  MemberState,
  MeshClaim,
  Message,
  MessageType,
  PushPull,
  Update,
} from './messages.ts';

/** The frame version this release writes by default, and the highest it reads. */
export const CODEC_VERSION = 2;
/** The oldest frame version it reads and can write (for speakers of the previous format). */
export const MIN_CODEC_VERSION = 1;
export type CodecVersion = 1 | 2;

/** Extension tags of version 2 (per message type; records have none yet). */
const EXT_PROTOCOL = 1;
/**
 * Largest frame accepted: a push-pull of MAX_MEMBERS members with endpoints
 * and MAX_CLAIMS claims, at realistic name and address lengths, fits (about
 * 2.5 MB; test/unit/mesh-codec.test.ts measures it). Frames at every limit at
 * once (253-byte names everywhere) do not, and are refused on encode.
 */
export const MAX_FRAME_BYTES = 4 << 20;
/** Kubernetes node names are DNS subdomains: at most 253 characters. */
export const MAX_NAME_BYTES = 253;
/** libp2p peer IDs in base58 are ~52 characters; leave room for other key types. */
export const MAX_PEER_ID_BYTES = 128;
export const MAX_ADDR_BYTES = 256;
export const MAX_ADDRS = 8;
/** Updates per ping, ack or gossip envelope (the core piggybacks at most maxPiggyback). */
export const MAX_UPDATES = 64;
/** Members per push-pull (well above the 2,000 the simulator is measured at). */
export const MAX_MEMBERS = 5_000;
/** The longest IP text: an IPv6 address with an embedded IPv4 one (`ffff:…:255.255.255.255`). */
export const MAX_IP_BYTES = 45;
/** Claims per push-pull: one per service IP the cluster announces. */
export const MAX_CLAIMS = 20_000;
/** Claims per claims message (a member publishes more in several messages). */
export const MAX_GOSSIP_CLAIMS = 256;

const TYPES: readonly MessageType[] = ['ping', 'ack', 'ping-req', 'nack', 'gossip', 'push-pull', 'claims'];
const STATES: readonly MemberState[] = ['alive', 'suspect', 'dead', 'left'];
const HAS_ENDPOINT = 0x80;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** UTF-8 byte length without allocating (lone surrogates count as U+FFFD: 3 bytes). */
function utf8Length(s: string): number {
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

function updateContent(u: Update): number {
  checkInt(u.incarnation, 'incarnation');
  return (
    1 +
    nameSize(u.node) +
    varintSize(u.incarnation) +
    nameSize(u.from) +
    (u.endpoint === undefined ? 0 : endpointSize(u.endpoint))
  );
}

function snapshotContent(s: MemberSnapshot): number {
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

function claimContent(c: MeshClaim): number {
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
