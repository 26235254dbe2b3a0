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
 * The format's numbers and limits are in codec-constants.ts, sizing (and the
 * limits' checks on encode) in codec-size.ts, writing in codec-encode.ts,
 * reading in codec-decode.ts. Every limit is enforced on encode and decode;
 * decode throws only MeshCodecError, whatever the bytes.
 */
export {
  CODEC_VERSION,
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
  type CodecVersion,
} from './codec-constants.ts';
export { decode, decodeFrame, type DecodedFrame } from './codec-decode.ts';
export { encode } from './codec-encode.ts';
export { encodedSize } from './codec-size.ts';
