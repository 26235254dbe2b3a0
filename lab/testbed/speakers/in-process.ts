// Real libp2p speakers in this process, on loopback: the mesh tests and the mesh soak benchmark.
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { systemClock } from '../../../src/clock/index.ts';
import type { ClaimStore } from '../../../src/mesh/claims.ts';
import { Membership } from '../../../src/mesh/membership.ts';
import { createMeshNode, Libp2pTransport, type MeshNode } from '../../../src/mesh/libp2p/index.ts';
import type { MeshConfig } from '../../../src/mesh/config.ts';
import type { PeerAuthority } from '../../../src/mesh/transport.ts';

export interface Speaker {
  name: string;
  node: MeshNode;
  transport: Libp2pTransport;
  membership: Membership;
  stop(): Promise<void>;
}

export interface Identity {
  name: string;
  privateKey: PrivateKey;
  peerId: string;
}

export async function identity(name: string): Promise<Identity> {
  const privateKey = await generateKeyPair('Ed25519');
  return { name, privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}

export function newNetworkKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

export async function startSpeaker(opts: {
  id: Identity;
  networkKey: Uint8Array;
  authority?: PeerAuthority;
  /** Node name the membership claims (defaults to id.name; an impostor sets another). */
  claim?: string;
  config?: Partial<MeshConfig>;
  claims?: ClaimStore;
  /** Give it the datagram path (check traffic over UDP on 127.0.0.1), as speakers have. */
  datagram?: boolean;
}): Promise<Speaker> {
  const node = await createMeshNode({
    privateKey: opts.id.privateKey,
    networkKey: opts.networkKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    allow: ['/ip4/127.0.0.0/ipcidr/8'],
  });
  const transport = new Libp2pTransport({
    node,
    ...(opts.authority === undefined ? {} : { authority: opts.authority }),
    ...(opts.datagram === true
      ? {
          datagram: {
            host: '127.0.0.1',
            port: 0,
            networkKey: opts.networkKey,
            privateKey: opts.id.privateKey,
          },
        }
      : {}),
  });
  // The datagram address goes into the endpoint the membership announces: bind it first.
  if (opts.datagram === true) await transport.listen();
  const membership = new Membership({
    node: opts.claim ?? opts.id.name,
    endpoint: transport.endpoint,
    clock: systemClock,
    transport,
    config: opts.config ?? {},
    ...(opts.claims === undefined ? {} : { claims: opts.claims }),
  });
  await transport.start(membership);
  membership.start();
  let stopped = false;
  return {
    name: opts.id.name,
    node,
    transport,
    membership,
    async stop() {
      if (stopped) return;
      stopped = true;
      membership.stop();
      await transport.stop();
      await node.stop();
    },
  };
}

/** Names of the members `s` sees alive (itself included). */
export function aliveSeenBy(s: Speaker): string[] {
  return s.membership
    .members()
    .filter((m) => m.state === 'alive')
    .map((m) => m.node)
    .sort();
}
