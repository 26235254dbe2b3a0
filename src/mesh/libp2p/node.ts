import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify, type Identify } from '@libp2p/identify';
import type { PrivateKey } from '@libp2p/interface';
import { preSharedKey } from '@libp2p/pnet';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { swarmKey } from './keys.ts';

const EMPTY = new Uint8Array(0);

export type MeshNode = Libp2p<{ identify: Identify; pubsub: GossipSub }>;

export interface MeshNodeOptions {
  /** The speaker's persistent identity (its peer ID is derived from it). */
  privateKey: PrivateKey;
  /** The 32-byte mesh key shared by every speaker (a Kubernetes Secret). */
  networkKey: Uint8Array;
  /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/7947. */
  listen: string[];
  /**
   * CIDRs (as multiaddrs, e.g. /ip4/10.0.0.0/ipcidr/8) of the cluster's nodes.
   * Connections from them skip libp2p's inbound rate limit (5 per second per
   * host by default), which would refuse a restarting cluster's burst of
   * dials — and everything from one IP in tests on loopback or behind SNAT.
   */
  allow?: string[];
  /** Upper bound on open connections (each speaker may connect to every other). Default 2,000. */
  maxConnections?: number;
}

/**
 * A libp2p v3 node for the mesh: TCP, a private network (pnet: a peer without
 * the mesh key never completes a handshake), Noise, yamux, identify, and
 * gossipsub for membership changes.
 */
export async function createMeshNode(opts: MeshNodeOptions): Promise<MeshNode> {
  return createLibp2p({
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: swarmKey(opts.networkKey) }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: opts.maxConnections ?? 2_000,
      allow: opts.allow ?? [],
      // Speakers dial each other all at once when a cluster (re)starts.
      maxIncomingPendingConnections: 256,
    },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // Every message is signed by its publisher's key and checked: the
        // mesh's PeerAuthority then decides whether that peer may speak for
        // the node the message names.
        globalSignaturePolicy: 'StrictSign',
        // Without a fast ID, gossipsub verifies the signature of every copy
        // before noticing it is a duplicate (measured: ~40% of CPU). Hashing
        // publisher, sequence number and data identifies one publish cheaply.
        fastMsgIdFn: (msg) =>
          createHash('sha256')
            .update(msg.from ?? EMPTY)
            .update(msg.seqno ?? EMPTY)
            .update(msg.data ?? EMPTY)
            .digest('base64'),
        // Publishing before the gossip mesh has formed must not throw: the
        // core also piggybacks every change on probes.
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        scoreParams: {
          // The IP-colocation penalty would score every peer below the graft
          // threshold when many speakers share one IP (loopback in tests,
          // SNAT), emptying the mesh. All our peers are authenticated by the
          // mesh key; colocation says nothing about them.
          IPColocationFactorWeight: 0,
          // A departed peer's score (and its IP set) is kept this long so that
          // reconnecting does not reset a bad score; gossipsub's default, 1 h,
          // holds an entry per speaker process that left in the last hour
          // (bench/mesh-soak.ts: ~1.5 KB each, growing with churn). Our peers
          // hold the mesh key and earn no penalties worth keeping; 5 min.
          retainScore: 5 * 60_000,
        },
      }),
    },
  });
}
