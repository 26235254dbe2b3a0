/**
 * ARP and NDP reply latency on the wire (issue: wire, benchmark 1). Needs root.
 * A LAN of namespaces: h1 runs the responder (src/arp Wire, in its own
 * process as a speaker would) for a VIP of each family; h2's kernel answers
 * for its own addresses, as the reference. The client asks with arping and
 * ndisc6 while tcpdump captures on the client's interface; the latency is
 * reply time minus request time, both as the client's capture saw them.
 *
 *   sudo node bench/wire-latency.ts [--requests 200]
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createLan, type Host, type Lan } from '../src/testbed/netns/index.ts';
import { PacketAgent } from '../src/testbed/packet-agent/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200' } } });
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
  await agent.op('wire', { interfaces: ['eth0'] });
  await agent.op('announce', { ip: vip4 });
  await agent.op('announce', { ip: vip6 });
  const arp = async (ip: string, n = N): Promise<void> => {
    // One request per process: arping's interval is whole seconds.
    for (let i = 0; i < n; i++) await lan.exec(client, ['arping', '-c', '1', '-w', '1', '-I', 'eth0', ip]);
  };
  const ndp = async (ip: string, n = N): Promise<void> => {
    for (let i = 0; i < n; i++) await lan.exec(client, ['ndisc6', '-1', '-r', '1', '-w', '1000', ip, 'eth0']);
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
} finally {
  await lan.teardown();
}
