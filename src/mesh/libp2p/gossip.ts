/**
 * The gossipsub topic: membership changes (gossip envelopes) and announcement
 * claims go to every member in one publication, in the codec version every
 * member known reads. What comes in must be signed and of those two types;
 * it goes to `deliver` with the peer that signed it.
 */
import type { Message as PubsubMessage } from '@libp2p/gossipsub';
import type { Logger } from 'pino';
import type { Startable } from '../../clock/lifecycle.ts';
import { encode, type CodecVersion } from '../codec.ts';
import type { BroadcastMessage, Message } from '../messages.ts';
import type { MeshNode } from './node.ts';
import { decodeCounted, type TransportStats } from './transport-stats.ts';

/** Membership changes (gossip envelopes) and announcement claims travel on this gossipsub topic. */
export const MEMBERSHIP_TOPIC = 'meshlb/membership/1';

export class GossipTopic implements Startable {
  readonly #node: MeshNode;
  readonly #stats: TransportStats;
  readonly #log: Logger | undefined;
  readonly #version: () => CodecVersion;
  readonly #deliver: (peer: string, msg: Message, version: CodecVersion) => void;
  #started = false;

  /** `version`: the codec version to publish in (what every member known reads). */
  constructor(opts: {
    node: MeshNode;
    stats: TransportStats;
    log?: Logger | undefined;
    version: () => CodecVersion;
    deliver: (peer: string, msg: Message, version: CodecVersion) => void;
  }) {
    this.#node = opts.node;
    this.#stats = opts.stats;
    this.#log = opts.log;
    this.#version = opts.version;
    this.#deliver = opts.deliver;
  }

  /** Subscribes; idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const pubsub = this.#node.services.pubsub;
    pubsub.addEventListener('message', this.#listener);
    pubsub.subscribe(MEMBERSHIP_TOPIC);
  }

  /** Unsubscribes; idempotent. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#node.services.pubsub.removeEventListener('message', this.#listener);
    this.#node.services.pubsub.unsubscribe(MEMBERSHIP_TOPIC);
  }

  readonly #listener = (evt: CustomEvent<PubsubMessage>): void => {
    this.#onGossip(evt.detail);
  };

  /** Publishes `msg`; one that breaks a codec limit is dropped, logged. */
  publish(msg: BroadcastMessage): void {
    let data: Uint8Array;
    try {
      data = encode(msg, this.#version());
    } catch (err) {
      this.#stats.drop('encode');
      this.#log?.warn({ err }, 'gossip not sent: it breaks a codec limit');
      return;
    }
    this.#stats.gossipOut++;
    this.#stats.sentBytes(msg.type, data.length);
    this.#node.services.pubsub.publish(MEMBERSHIP_TOPIC, data).catch((err: unknown) => {
      this.#stats.drop('publish');
      this.#log?.debug({ err }, 'gossip publish failed');
    });
  }

  #onGossip(m: PubsubMessage): void {
    if (m.topic !== MEMBERSHIP_TOPIC) return;
    if (m.type !== 'signed') {
      this.#stats.drop('unsigned');
      return;
    }
    this.#stats.gossipIn++;
    const decoded = decodeCounted(m.data, this.#stats);
    if (decoded === undefined) return;
    const { msg, version } = decoded;
    if (msg.type !== 'gossip' && msg.type !== 'claims') {
      this.#stats.drop('direct-on-topic');
      return;
    }
    this.#deliver(m.from.toString(), msg, version);
  }
}
