/**
 * Binary encoding of mesh messages (messages.ts), for libp2p streams and the
 * gossipsub topic. Layout (all integers unsigned LEB128 varints, minimal form):
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
  Update,
} from './messages.ts';

export const CODEC_VERSION = 1;
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

function updateSize(u: Update): number {
  checkInt(u.incarnation, 'incarnation');
  return (
    1 +
    nameSize(u.node) +
    varintSize(u.incarnation) +
    nameSize(u.from) +
    (u.endpoint === undefined ? 0 : endpointSize(u.endpoint))
  );
}

function snapshotSize(s: MemberSnapshot): number {
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

function claimsSize(cs: readonly MeshClaim[], max: number): number {
  let size = count(cs.length, max, 'claims');
  for (const c of cs) {
    checkInt(c.epoch, 'epoch');
    size += ipSize(c.ip) + nameSize(c.node) + varintSize(c.epoch);
  }
  return size;
}

function updatesSize(us: readonly Update[]): number {
  let size = count(us.length, MAX_UPDATES, 'updates');
  for (const u of us) size += updateSize(u);
  return size;
}

function seqSize(seq: number): number {
  checkInt(seq, 'seq');
  return varintSize(seq);
}

/** The exact length of encode(msg), computed without allocating. Throws MeshCodecError like encode. */
export function encodedSize(msg: Message): number {
  const from = nameSize(msg.from);
  let body: number;
  switch (msg.type) {
    case 'ping':
      body = seqSize(msg.seq) + from + nameSize(msg.target) + updatesSize(msg.piggyback);
      break;
    case 'ack':
      body = seqSize(msg.seq) + from + updatesSize(msg.piggyback);
      break;
    case 'ping-req':
      body = seqSize(msg.seq) + from + nameSize(msg.target);
      break;
    case 'nack':
      body = seqSize(msg.seq) + from;
      break;
    case 'gossip':
      body = from + updatesSize(msg.updates);
      break;
    case 'push-pull': {
      body = from + 1 + count(msg.members.length, MAX_MEMBERS, 'members');
      for (const s of msg.members) body += snapshotSize(s);
      body += claimsSize(msg.claims, MAX_CLAIMS);
      break;
    }
    case 'claims':
      body = from + claimsSize(msg.claims, MAX_GOSSIP_CLAIMS);
      break;
  }
  const size = 2 + body;
  if (size > MAX_FRAME_BYTES)
    throw new MeshCodecError('too-large', `frame of ${size} bytes, the limit is ${MAX_FRAME_BYTES}`);
  return size;
}

class Writer {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
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

  endpoint(e: Endpoint): void {
    this.str(e.peerId);
    this.varint(e.addrs.length);
    for (const a of e.addrs) this.str(a);
  }

  updates(us: readonly Update[]): void {
    this.varint(us.length);
    for (const u of us) {
      this.byte(STATES.indexOf(u.kind) | (u.endpoint === undefined ? 0 : HAS_ENDPOINT));
      this.str(u.node);
      this.varint(u.incarnation);
      this.str(u.from);
      if (u.endpoint !== undefined) this.endpoint(u.endpoint);
    }
  }

  claims(cs: readonly MeshClaim[]): void {
    this.varint(cs.length);
    for (const c of cs) {
      this.str(c.ip);
      this.str(c.node);
      this.varint(c.epoch);
    }
  }
}

/** Encodes a message; throws MeshCodecError when it breaks a limit. */
export function encode(msg: Message): Uint8Array {
  const w = new Writer(encodedSize(msg));
  w.byte(CODEC_VERSION);
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
      for (const s of msg.members) {
        w.byte(STATES.indexOf(s.state) | (s.endpoint === undefined ? 0 : HAS_ENDPOINT));
        w.str(s.node);
        w.varint(s.incarnation);
        if (s.endpoint !== undefined) w.endpoint(s.endpoint);
      }
      w.claims(msg.claims);
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
  pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get remaining(): number {
    return this.#buf.length - this.pos;
  }

  byte(): number {
    const b = this.#buf[this.pos];
    if (b === undefined) throw new MeshCodecError('truncated', `frame ends at byte ${this.pos}`);
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

  str(max: number, what: string): string {
    const len = this.count(max, `bytes of ${what}`);
    if (len > this.remaining) throw new MeshCodecError('truncated', `${what} runs past the end of the frame`);
    const bytes = this.#buf.subarray(this.pos, this.pos + len);
    this.pos += len;
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

  updates(): Update[] {
    const n = this.count(MAX_UPDATES, 'updates');
    const out: Update[] = [];
    for (let i = 0; i < n; i++) {
      const [kind, hasEndpoint] = this.stateAndFlag();
      const u: Update = { kind, node: this.name(), incarnation: this.varint(), from: this.name() };
      if (hasEndpoint) u.endpoint = this.endpoint();
      out.push(u);
    }
    return out;
  }

  claims(max: number): MeshClaim[] {
    const n = this.count(max, 'claims');
    const out: MeshClaim[] = [];
    for (let i = 0; i < n; i++) {
      const ip = this.str(MAX_IP_BYTES, 'IP');
      if (ip === '') throw new MeshCodecError('invalid', 'empty IP');
      out.push({ ip, node: this.name(), epoch: this.varint() });
    }
    return out;
  }
}

/** Decodes one frame. Throws MeshCodecError (and nothing else) for any bytes that are not a valid message. */
export function decode(bytes: Uint8Array): Message {
  if (bytes.length > MAX_FRAME_BYTES) {
    throw new MeshCodecError('too-large', `frame of ${bytes.length} bytes, the limit is ${MAX_FRAME_BYTES}`);
  }
  const r = new Reader(bytes);
  const version = r.byte();
  if (version !== CODEC_VERSION)
    throw new MeshCodecError('bad-version', `version ${version}, expected ${CODEC_VERSION}`);
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
      for (let i = 0; i < n; i++) {
        const [state, hasEndpoint] = r.stateAndFlag();
        const s: MemberSnapshot = { node: r.name(), state, incarnation: r.varint() };
        if (hasEndpoint) s.endpoint = r.endpoint();
        members.push(s);
      }
      const claims = r.claims(MAX_CLAIMS);
      msg = { type, from, join: (flags & 1) !== 0, reply: (flags & 2) !== 0, members, claims };
      break;
    }
    case 'claims':
      msg = { type, from: r.name(), claims: r.claims(MAX_GOSSIP_CLAIMS) };
      break;
  }
  if (r.remaining !== 0) throw new MeshCodecError('trailing-bytes', `${r.remaining} bytes after the message`);
  return msg;
}
