/**
 * Netlink route messages (rtnetlink(7)), pure: the parser of what the kernel
 * tells a NETLINK_ROUTE socket about links and addresses, and the dump
 * requests that ask it for the whole state. No I/O (LinkMonitor does that).
 *
 * Layout, all integers in host byte order:
 *   nlmsghdr  = len u32 ‖ type u16 ‖ flags u16 ‖ seq u32 ‖ pid u32, then the payload; messages 4-byte aligned
 *   ifinfomsg = family u8 ‖ pad u8 ‖ type u16 ‖ index s32 ‖ flags u32 ‖ change u32, then attributes
 *   ifaddrmsg = family u8 ‖ prefixlen u8 ‖ flags u8 ‖ scope u8 ‖ index u32, then attributes
 *   rtattr    = len u16 ‖ type u16 ‖ value, 4-byte aligned
 */
import { endianness } from 'node:os';
import { ipToString } from '../ip/index.ts';
import { NetlinkParseError } from './errors.ts';

/** Message types. */
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

/** Header flags. */
export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
/** Set on the messages of a dump during which the state changed: the dump is inconsistent, ask again. */
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;

/** The multicast groups of link changes and IPv4 / IPv6 address changes. */
export const RTMGRP_LINK = 0x1;
export const RTMGRP_IPV4_IFADDR = 0x10;
export const RTMGRP_IPV6_IFADDR = 0x100;

/** Interface flags (ifinfomsg.flags). */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_LOWER_UP = 0x10000;

const AF_INET = 2;
const AF_INET6 = 10;
const HDR = 16;
const IFINFOMSG = 16;
const IFADDRMSG = 8;
const NLA_TYPE_MASK = 0x3fff;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_OPERSTATE = 16;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;

const LE = endianness() === 'LE';

/** RFC 2863 operational state (IFLA_OPERSTATE). */
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
const OPER_STATES: readonly OperState[] = [
  'unknown',
  'notpresent',
  'down',
  'lowerlayerdown',
  'testing',
  'dormant',
  'up',
];

/** A link's state (RTM_NEWLINK: it exists, new or changed) or its removal (RTM_DELLINK). */
export interface LinkEvent {
  readonly kind: 'link';
  readonly action: 'new' | 'del';
  readonly index: number;
  /** IFLA_IFNAME. */
  readonly name: string | undefined;
  /** IFLA_ADDRESS, the link-layer address, lower case and colon-separated (a MAC on Ethernet). */
  readonly mac: string | undefined;
  readonly mtu: number | undefined;
  readonly operState: OperState | undefined;
  /** ifinfomsg.flags (IFF_*). */
  readonly flags: number;
  /** IFF_UP: administratively up. */
  readonly up: boolean;
  /** IFF_RUNNING: operationally up. */
  readonly running: boolean;
  /** IFF_LOWER_UP: carrier. */
  readonly lowerUp: boolean;
}

/** An address added to (RTM_NEWADDR) or removed from (RTM_DELADDR) an interface. */
export interface AddressEvent {
  readonly kind: 'address';
  readonly action: 'new' | 'del';
  readonly index: number;
  readonly family: 4 | 6;
  /** The interface's own address: IFA_LOCAL, else IFA_ADDRESS. */
  readonly address: string;
  readonly prefixLength: number;
  /** RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  readonly scope: number;
  /** IFA_LABEL (IPv4 only), e.g. "eth0" or "eth0:1". */
  readonly label: string | undefined;
}

export interface NetlinkHeader {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

/** The end of a dump; `error` is 0, or a negative errno when the dump failed. */
export interface DoneBody {
  readonly kind: 'done';
  readonly error: number;
}

/** An acknowledgement (errno 0) or the failure (errno > 0) of the request with this header's seq. */
export interface ErrorBody {
  readonly kind: 'error';
  readonly errno: number;
}

/** NLMSG_NOOP, NLMSG_OVERRUN, another RTM_* type, or an address of another family. */
export interface OtherBody {
  readonly kind: 'other';
}

export type NetlinkBody = LinkEvent | AddressEvent | DoneBody | ErrorBody | OtherBody;

export interface NetlinkMessage {
  readonly header: NetlinkHeader;
  readonly body: NetlinkBody;
}

const align4 = (n: number): number => (n + 3) & ~3;

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

interface Attribute {
  type: number;
  value: Uint8Array;
}

/** The rtattrs of `p` from `start` on. */
function attributes(p: Uint8Array, start: number): Attribute[] {
  const v = viewOf(p);
  const out: Attribute[] = [];
  let off = start;
  while (off < p.length) {
    if (p.length - off < 4)
      throw new NetlinkParseError('truncated', `${p.length - off} bytes left, an attribute needs 4`);
    const len = v.getUint16(off, LE);
    const type = v.getUint16(off + 2, LE) & NLA_TYPE_MASK;
    if (len < 4) throw new NetlinkParseError('bad-attribute', `attribute ${type} of length ${len}`);
    if (len > p.length - off)
      throw new NetlinkParseError('truncated', `attribute ${type} of ${len} bytes, ${p.length - off} left`);
    out.push({ type, value: p.subarray(off + 4, off + len) });
    off += Math.min(align4(len), p.length - off);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8');

/** A NUL-terminated string attribute (the NUL may be missing). */
function cString(value: Uint8Array): string {
  const nul = value.indexOf(0);
  return utf8.decode(nul === -1 ? value : value.subarray(0, nul));
}

function u32Attr(a: Attribute): number {
  if (a.value.length < 4)
    throw new NetlinkParseError('bad-attribute', `attribute ${a.type} holds ${a.value.length} bytes, not 4`);
  return viewOf(a.value).getUint32(0, LE);
}

function parseLink(action: 'new' | 'del', p: Uint8Array): LinkEvent {
  if (p.length < IFINFOMSG)
    throw new NetlinkParseError('bad-payload', `link message of ${p.length} bytes, ifinfomsg needs 16`);
  const v = viewOf(p);
  const index = v.getInt32(4, LE);
  const flags = v.getUint32(8, LE);
  let name: string | undefined;
  let mac: string | undefined;
  let mtu: number | undefined;
  let operState: OperState | undefined;
  for (const a of attributes(p, IFINFOMSG)) {
    switch (a.type) {
      case IFLA_IFNAME:
        name = cString(a.value);
        break;
      case IFLA_ADDRESS:
        mac = Array.from(a.value, (b) => b.toString(16).padStart(2, '0')).join(':');
        break;
      case IFLA_MTU:
        mtu = u32Attr(a);
        break;
      case IFLA_OPERSTATE: {
        const s = a.value[0];
        if (s === undefined) throw new NetlinkParseError('bad-attribute', 'empty IFLA_OPERSTATE');
        operState = OPER_STATES[s] ?? 'unknown';
        break;
      }
      default:
        break;
    }
  }
  return {
    kind: 'link',
    action,
    index,
    name,
    mac,
    mtu,
    operState,
    flags,
    up: (flags & IFF_UP) !== 0,
    running: (flags & IFF_RUNNING) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
  };
}

function formatAddress(family: 4 | 6, value: Uint8Array): string {
  const want = family === 4 ? 4 : 16;
  if (value.length !== want)
    throw new NetlinkParseError('bad-attribute', `IPv${family} address of ${value.length} bytes`);
  return ipToString(value);
}

function parseAddress(action: 'new' | 'del', p: Uint8Array): AddressEvent | OtherBody {
  if (p.length < IFADDRMSG)
    throw new NetlinkParseError('bad-payload', `address message of ${p.length} bytes, ifaddrmsg needs 8`);
  const v = viewOf(p);
  const af = v.getUint8(0);
  if (af !== AF_INET && af !== AF_INET6) return { kind: 'other' };
  const family = af === AF_INET ? 4 : 6;
  const prefixLength = v.getUint8(1);
  if (prefixLength > (family === 4 ? 32 : 128))
    throw new NetlinkParseError('bad-payload', `IPv${family} prefix length ${prefixLength}`);
  let local: string | undefined;
  let address: string | undefined;
  let label: string | undefined;
  for (const a of attributes(p, IFADDRMSG)) {
    if (a.type === IFA_LOCAL) local = formatAddress(family, a.value);
    else if (a.type === IFA_ADDRESS) address = formatAddress(family, a.value);
    else if (a.type === IFA_LABEL) label = cString(a.value);
  }
  const own = local ?? address;
  if (own === undefined)
    throw new NetlinkParseError('bad-payload', 'address message without IFA_LOCAL or IFA_ADDRESS');
  return {
    kind: 'address',
    action,
    index: v.getUint32(4, LE),
    family,
    address: own,
    prefixLength,
    scope: v.getUint8(3),
    label,
  };
}

function parseBody(type: number, p: Uint8Array): NetlinkBody {
  switch (type) {
    case NLMSG_ERROR: {
      if (p.length < 4)
        throw new NetlinkParseError('bad-payload', `error message of ${p.length} bytes, needs 4`);
      const error = viewOf(p).getInt32(0, LE);
      if (error > 0) throw new NetlinkParseError('bad-payload', `error message with positive error ${error}`);
      return { kind: 'error', errno: Math.abs(error) };
    }
    case NLMSG_DONE:
      return { kind: 'done', error: p.length >= 4 ? viewOf(p).getInt32(0, LE) : 0 };
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return parseLink(type === RTM_NEWLINK ? 'new' : 'del', p);
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return parseAddress(type === RTM_NEWADDR ? 'new' : 'del', p);
    default:
      return { kind: 'other' };
  }
}

/**
 * The messages of one datagram read from a NETLINK_ROUTE socket, in order.
 * Throws NetlinkParseError, and nothing else, when the bytes are not
 * well-formed; the whole datagram is then to be dropped.
 */
export function parseNetlink(bytes: Uint8Array): NetlinkMessage[] {
  const v = viewOf(bytes);
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off < bytes.length) {
    const left = bytes.length - off;
    if (left < HDR) throw new NetlinkParseError('truncated', `${left} bytes left, a message header needs 16`);
    const len = v.getUint32(off, LE);
    if (len < HDR)
      throw new NetlinkParseError('bad-length', `message length ${len}, below its 16-byte header`);
    if (len > left) throw new NetlinkParseError('truncated', `message of ${len} bytes, ${left} left`);
    const header: NetlinkHeader = {
      type: v.getUint16(off + 4, LE),
      flags: v.getUint16(off + 6, LE),
      seq: v.getUint32(off + 8, LE),
      pid: v.getUint32(off + 12, LE),
    };
    out.push({ header, body: parseBody(header.type, bytes.subarray(off + HDR, off + len)) });
    off += Math.min(align4(len), left);
  }
  return out;
}

/** What a dump request asks for: every link, or every address of every family. */
export type DumpKind = 'links' | 'addresses';

/** A dump request (RTM_GETLINK or RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, AF_UNSPEC) with this sequence number. */
export function encodeDumpRequest(what: DumpKind, seq: number): Uint8Array {
  const body = what === 'links' ? IFINFOMSG : IFADDRMSG;
  const out = new Uint8Array(HDR + body); // family 0 (AF_UNSPEC): all of them
  const v = viewOf(out);
  v.setUint32(0, out.length, LE);
  v.setUint16(4, what === 'links' ? RTM_GETLINK : RTM_GETADDR, LE);
  v.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, LE);
  v.setUint32(8, seq >>> 0, LE);
  v.setUint32(12, 0, LE);
  return out;
}
