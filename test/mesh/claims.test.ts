import type { Message as PubsubMessage } from '@libp2p/gossipsub';
import anyTest, { type TestFn } from 'ava';
import { decode } from '../../src/mesh/codec.ts';
import { MEMBERSHIP_TOPIC } from '../../src/mesh/libp2p/index.ts';
import type { MeshClaim } from '../../src/mesh/index.ts';
import { StaticPeerAuthority } from '../../src/mesh/transport.ts';
import { MapClaimStore } from '../helpers/claim-store.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  aliveSeenBy,
  identity,
  newNetworkKey,
  startSpeaker,
  type Identity,
  type Speaker,
} from '../../lab/testbed/speakers/in-process.ts';

interface Ctx {
  ids: Identity[];
  key: Uint8Array;
  authority: StaticPeerAuthority;
  speakers: Speaker[];
  stores: MapClaimStore[];
  extra: Speaker[];
}
const test = anyTest as TestFn<Ctx>;
const NAMES = ['c1', 'c2', 'c3'];

/** Until every speaker has `n` other subscribers of the membership topic (publishing earlier may reach nobody). */
async function gossipReady(speakers: Speaker[], n: number): Promise<void> {
  await waitFor(
    'the gossipsub topic to have every peer',
    () => speakers.every((s) => s.node.services.pubsub.getSubscribers(MEMBERSHIP_TOPIC).length >= n),
    10_000,
  );
}

test.before(async (t) => {
  const ids = await Promise.all([...NAMES, 'late'].map(identity));
  const key = newNetworkKey();
  const authority = new StaticPeerAuthority(ids.map((i) => [i.name, i.peerId] as const));
  const stores = NAMES.map(() => new MapClaimStore());
  const speakers = await Promise.all(
    ids
      .slice(0, NAMES.length)
      .map((id, i) => startSpeaker({ id, networkKey: key, authority, claims: stores[i] as MapClaimStore })),
  );
  const [first, ...rest] = speakers as [Speaker, ...Speaker[]];
  first.membership.join([]);
  for (const s of rest) s.membership.join([first.transport.endpoint]);
  t.context = { ids, key, authority, speakers, stores, extra: [] };
});

test.after.always(async (t) => {
  await Promise.all([...t.context.speakers, ...t.context.extra].map((s) => s.stop()));
});

const claim: MeshClaim = { ip: '192.0.2.44', node: 'c2', epoch: 3 };

test.serial('a claim published on one speaker reaches the others’ stores over gossipsub', async (t) => {
  const { speakers, stores } = t.context;
  await waitFor(
    'every speaker to see all alive',
    () => speakers.every((s) => aliveSeenBy(s).length === 3),
    5_000,
  );
  t.true(
    speakers.every((s) => s.membership.synced),
    'the first by join([]), the others by their seed’s reply',
  );
  await gossipReady(speakers, NAMES.length - 1);
  const [c1, c2, c3] = speakers as [Speaker, Speaker, Speaker];
  const [s1, s2, s3] = stores as [MapClaimStore, MapClaimStore, MapClaimStore];
  s2.own(claim);
  c2.membership.publishClaims([claim]);
  await waitFor(
    'c1 and c3 to hear the claim',
    () => s1.saw(claim, 'gossip') && s3.saw(claim, 'gossip'),
    5_000,
  );
  t.deepEqual(s1.claims.get(claim.ip), claim);
  t.deepEqual(s3.claims.get(claim.ip), claim);
  t.is(c2.membership.stats.messagesSent.claims, 1);
  t.true((c1.membership.stats.messagesReceived.claims ?? 0) >= 1);
  t.true((c3.membership.stats.messagesReceived.claims ?? 0) >= 1);
});

test.serial('a late joiner gets the standing claim by push-pull and becomes synced', async (t) => {
  const { speakers, key, ids, authority } = t.context;
  const store = new MapClaimStore();
  const late = await startSpeaker({
    id: ids[NAMES.length] as Identity,
    networkKey: key,
    authority,
    claims: store,
  });
  t.context.extra.push(late);
  const synced = new Promise<string | undefined>((resolve) => {
    late.membership.onSynced((e) => {
      resolve(e.from);
    });
  });
  t.false(late.membership.synced);
  late.membership.join([(speakers[0] as Speaker).transport.endpoint]);
  t.is(await synced, 'c1');
  t.true(late.membership.synced);
  t.true(store.saw(claim, 'push-pull'));
  t.deepEqual(store.claims.get(claim.ip), claim);
  await late.stop();
});

test.serial(
  'claims from a peer not allowed to speak for their node are dropped as unauthorised',
  async (t) => {
    const { speakers, key, authority, stores } = t.context;
    // Right network key, but its peer ID is not c3's: it may not announce as c3.
    const impostor = await startSpeaker({
      id: await identity('mallory'),
      networkKey: key,
      authority,
      claim: 'c3',
    });
    t.context.extra.push(impostor);
    impostor.membership.join([(speakers[0] as Speaker).transport.endpoint]);
    await gossipReady([impostor], 1); // c1, its seed: the only peer it dialled
    const c1 = speakers[0] as Speaker;
    const forged: MeshClaim = { ip: claim.ip, node: 'c3', epoch: 99 };
    // Resolves when c1's gossipsub delivers the forged message (the transport's listener ran first).
    const arrived = new Promise<void>((resolve) => {
      const pubsub = c1.node.services.pubsub;
      const listener = (evt: CustomEvent<PubsubMessage>): void => {
        try {
          const m = decode(evt.detail.data);
          if (m.type === 'claims' && m.claims.some((c) => c.epoch === forged.epoch)) {
            pubsub.removeEventListener('message', listener);
            resolve();
          }
        } catch {
          // not ours to judge
        }
      };
      pubsub.addEventListener('message', listener);
    });
    const before = c1.transport.stats.dropped.unauthorised ?? 0;
    const received = c1.membership.stats.messagesReceived.claims ?? 0;
    impostor.membership.publishClaims([forged]);
    await arrived;
    t.true((c1.transport.stats.dropped.unauthorised ?? 0) > before);
    t.is(c1.membership.stats.messagesReceived.claims ?? 0, received, 'the core never saw it');
    t.false((stores[0] as MapClaimStore).saw(forged));
    t.deepEqual((stores[0] as MapClaimStore).claims.get(claim.ip), claim);
    await impostor.stop();
  },
);
