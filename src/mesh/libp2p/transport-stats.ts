/**
 * What the libp2p adapter counts (the metrics module exports it), and the one
 * way its inbound paths (streams, datagrams, gossipsub) decode a frame:
 * counting what does not decode by codec error code, and what does by type.
 */
import { decodeFrame, type DecodedFrame } from '../codec.ts';
import { MeshCodecError } from '../errors.ts';

/** Counters of the libp2p adapter (the metrics module exports them). */
export class TransportStats {
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  gossipIn = 0;
  gossipOut = 0;
  datagramsIn = 0;
  datagramsOut = 0;
  /** Connections dropped because a member believed dead answered (see MeshTransport.revive). */
  revived = 0;
  /** Knocks after a closed connection that were refused (the member's process is gone; see knock-table.ts). */
  knocksRefused = 0;
  readonly dropped: Record<string, number> = {};
  /** Encoded bytes (the codec's, without stream length prefixes) by message type, over streams, datagrams and gossipsub. */
  readonly bytesSentByType: Record<string, number> = {};
  readonly bytesReceivedByType: Record<string, number> = {};

  drop(reason: string): void {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1;
  }

  sentBytes(type: string, n: number): void {
    this.bytesSentByType[type] = (this.bytesSentByType[type] ?? 0) + n;
  }

  receivedBytes(type: string, n: number): void {
    this.bytesReceivedByType[type] = (this.bytesReceivedByType[type] ?? 0) + n;
  }
}

/** Decodes a frame that came in; undefined (counted as a drop) when it does not decode. */
export function decodeCounted(frame: Uint8Array, stats: TransportStats): DecodedFrame | undefined {
  let decoded: DecodedFrame;
  try {
    decoded = decodeFrame(frame);
  } catch (err) {
    stats.drop(err instanceof MeshCodecError ? err.code : 'decode');
    return undefined;
  }
  stats.receivedBytes(decoded.msg.type, frame.length);
  return decoded;
}
