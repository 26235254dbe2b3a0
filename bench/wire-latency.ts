/**
 * ARP and NDP reply latency on the wire (issue: wire, benchmark 1). Needs root.
 * A LAN of namespaces: h1 runs the responder (src/arp Wire, in its own
 * process as a speaker would) for a VIP of each family; h2's kernel answers
 * for its own addresses, as the reference. The client asks with arping and
 * ndisc6 while tcpdump captures on the client's interface; the latency is
 * reply time minus request time, both as the client's capture saw them.
 *
 *   sudo node bench/wire-latency.ts [--requests 200] [--client tools|raw|timer] [--answer thread|loop]
 *
 * --answer: who answers the plain requests: the packet sockets' own threads
 * (the default, as the speaker runs) or JavaScript on the event loop (the
 * design before; WireInit.answerInThread false).
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  BROADCAST_MAC,
  buildArpFrame,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  neighborSolicitation,
  ZERO_MAC,
} from '../src/arp/codec/index.ts';
import { createLan, type Host, type Lan } from '../lab/testbed/netns/index.ts';
import { PacketAgent } from '../lab/testbed/packet-agent/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    client: { type: 'string', default: 'tools' },
    answer: { type: 'string', default: 'thread' },
  },
});
if (values.answer !== 'thread' && values.answer !== 'loop') throw new Error('--answer is thread or loop');
const N = Number(values.requests);

/** Request/reply capture times (µs) per target address, from tcpdump on the client. */
class Capture {
  readonly #asked = new Map<string, number>();
  readonly latencies = new Map<string, number[]>();
  readonly #ready: Promise<void>;
  readonly #proc;

  constructor(lan: Lan, client: Host) {
    this.#proc = lan.spawn(client, [
      'tcpdump',
      '-i',
      'eth0',
      '-n',
      '-l',
      '-tt',
      '--time-stamp-precision=micro',
      'arp or icmp6',
    ]);
    const { promise, resolve } = Promise.withResolvers<undefined>();
    this.#ready = promise;
    this.#proc.stderr?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening on')) resolve(undefined);
    });
    createInterface({ input: this.#proc.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.#line(line);
    });
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  /** tcpdump prints as it captures; waits (up to 1 s) until n replies for ip were read. */
  async counted(ip: string, n: number): Promise<void> {
    for (let i = 0; i < 100 && (this.latencies.get(ip)?.length ?? 0) < n; i++)
      await new Promise((r) => setTimeout(r, 10));
  }

  #line(line: string): void {
    const ts = Number(line.split(' ')[0]) * 1e6;
    // "ARP, Request who-has 198.51.100.7 (ff:ff:ff:ff:ff:ff) tell 192.0.2.250, length 28";
    // a gratuitous ARP ("who-has X tell X") is not a question.
    const arp = /Request who-has (\S+) (?:\([0-9a-f:]+\) )?tell (\S+),/.exec(line);
    const ask =
      arp !== null && arp[1] !== arp[2] ? arp[1] : /neighbor solicitation, who has (\S+?),? /.exec(line)?.[1];
    if (ask !== undefined) {
      this.#asked.set(ask, ts);
      return;
    }
    const answer =
      /Reply (\S+) is-at/.exec(line)?.[1] ?? /neighbor advertisement, tgt is (\S+?),? /.exec(line)?.[1];
    if (answer === undefined) return;
    const asked = this.#asked.get(answer);
    if (asked === undefined) return;
    this.#asked.delete(answer);
    const list = this.latencies.get(answer) ?? [];
    list.push(ts - asked);
    this.latencies.set(answer, list);
  }

  stop(): void {
    this.#proc.kill();
  }
}

const lan = await createLan({ hosts: 2, prefix: 'mlbbwl' });
try {
  const [h1, h2] = [lan.host('h1'), lan.host('h2')];
  const client = lan.client as Host;
  const vip4 = '198.51.100.7';
  const vip6 = `${lan.vipRange6.split('::')[0] ?? ''}::7`;
  const agent = await PacketAgent.start(lan, h1);
  await agent.op('wire', { interfaces: ['eth0'], answerInThread: values.answer === 'thread' });
  await agent.op('announce', { ip: vip4 });
  await agent.op('announce', { ip: vip6 });
  // The client's requests: arping and ndisc6 (one process per request) by default, or
  // frames sent by one long-lived process: no process start-up on the 2 cores right
  // when the request leaves, which otherwise competes with the responder. --client raw:
  // this process asks it for each frame, 10 ms apart (the figures of docs/benchmarks.md);
  // --client timer: it sends them on its own 10 ms timer, and the machine is idle between
  // requests (each wake-up of a sleeping thread then costs more: docs/benchmarks.md).
  const timer = values.client === 'timer';
  const raw = values.client === 'raw' || timer ? await PacketAgent.start(lan, client) : undefined;
  const pace = (): Promise<void> => new Promise((r) => setTimeout(r, 10));
  if (raw !== undefined) {
    await raw.op('open', { name: 'arp', ifname: 'eth0', ethertype: ETHERTYPE_ARP });
    await raw.op('open', { name: 'ip6', ifname: 'eth0', ethertype: ETHERTYPE_IPV6 });
  }
  const arp = async (ip: string, n = N): Promise<void> => {
    const request = buildArpFrame(
      { op: 'request', senderMac: client.mac, senderIp: client.ipv4, targetMac: ZERO_MAC, targetIp: ip },
      { dst: BROADCAST_MAC, src: client.mac },
    ).toString('hex');
    if (timer) {
      await raw?.op('send-every', { name: 'arp', hex: request, count: n, ms: 10 });
      return;
    }
    for (let i = 0; i < n; i++) {
      if (raw === undefined) await lan.exec(client, ['arping', '-c', '1', '-w', '1', '-I', 'eth0', ip]);
      else await raw.op('send', { name: 'arp', hex: request }).then(pace);
    }
  };
  const ndp = async (ip: string, n = N): Promise<void> => {
    const request = neighborSolicitation({ srcMac: client.mac, srcIp: client.ipv6, target: ip }).toString(
      'hex',
    );
    if (timer) {
      await raw?.op('send-every', { name: 'ip6', hex: request, count: n, ms: 10 });
      return;
    }
    for (let i = 0; i < n; i++) {
      if (raw === undefined) await lan.exec(client, ['ndisc6', '-1', '-r', '1', '-w', '1000', ip, 'eth0']);
      else await raw.op('send', { name: 'ip6', hex: request }).then(pace);
    }
  };
  const cap = new Capture(lan, client);
  await cap.ready();
  // Warm-up (JIT, first-use paths), then the measured requests.
  await arp(vip4, 20);
  await ndp(vip6, 20);
  await cap.counted(vip6, 20);
  cap.latencies.clear();
  await arp(vip4);
  await arp(h2.ipv4);
  await ndp(vip6);
  await ndp(h2.ipv6);
  await cap.counted(h2.ipv6, N);
  cap.stop();
  const us = (ip: string) => summarize(cap.latencies.get(ip) ?? [], 0);
  console.log(
    JSON.stringify(
      {
        benchmark: 'wire-latency',
        requests: N,
        client: values.client,
        answer: values.answer,
        unit: 'µs, reply minus request as captured on the client',
        arp: { meshlb: us(vip4), kernel: us(h2.ipv4) },
        ndp: { meshlb: us(vip6), kernel: us(h2.ipv6) },
        responder: await agent.op('wire-stats'),
      },
      null,
      2,
    ),
  );
  await agent.stop();
  await raw?.stop();
} finally {
  await lan.teardown();
}
