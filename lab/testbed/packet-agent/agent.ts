/**
 * A child process that opens packet sockets and a LinkMonitor where it runs
 * (inside a host's network namespace, maybe as another user), driven by JSON
 * lines on stdin; replies and events are JSON lines on stdout. The wire tests
 * start it through PacketAgent (./index.ts): one process per node, as the
 * speaker runs.
 *
 *   in:  {"id": 1, "op": "open", "name": "a", "ifname": "eth0", "ethertype": 2054, "filter": "<hex>"}
 *   out: {"id": 1, "ok": true, "value": {...}}  or  {"id": 1, "ok": false, "error": {"name", "message", "code"}}
 *   out: {"event": "frames", "t": ms, "name": "a", "frames": [{"hex", "pktType"}], "afterClose": false}
 *
 * The speaker's wire: {"op": "wire", "interfaces": ["eth0"], "config": {…}} starts a Wire
 * (src/arp), then "announce" / "withdraw" {"ip", "probe"?} (reply: the wall-clock decision
 * time) and "wire-stats"; its events come as {"event": "wire", "t": ms, "value": WireEvent}.
 * "block" {"ms"} holds the event loop that long (after an event "blocking"); "send-every"
 * {"name", "hex", "count", "ms"} sends a frame `count` times, `ms` apart.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { WireConfig } from '../../../src/arp/config.ts';
import { LinkMonitor } from '../../../src/arp/link-monitor.ts';
import { Wire } from '../../../src/arp/wire.ts';
import { interfaceInfo, PacketSocket } from '../../../src/arp/packet-socket.ts';

interface Command {
  id: number;
  ip?: string;
  probe?: boolean;
  interfaces?: string[];
  config?: Partial<WireConfig>;
  op: string;
  name?: string;
  ifname?: string;
  ethertype?: number;
  filter?: string;
  hex?: string;
  mac?: string;
  answerInThread?: boolean;
  ms?: number;
  count?: number;
}

interface Open {
  sock: PacketSocket;
  closed: boolean;
}

const sockets = new Map<string, Open>();
let monitor: LinkMonitor | undefined;
/** The speaker's wire (op 'wire'); its events are printed with the wall-clock time. */
let wire: Wire | undefined;
const wallNow = (): number => performance.timeOrigin + performance.now();

function theWire(): Wire {
  if (wire === undefined) throw new Error('no wire: send op "wire" first');
  return wire;
}

function out(msg: object): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

function errorJson(err: unknown): { name: string; message: string; code: string | undefined } {
  const e = err instanceof Error ? err : new Error(String(err));
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, code: typeof code === 'string' ? code : undefined };
}

function socketOf(cmd: Command): Open {
  const s = sockets.get(cmd.name ?? '');
  if (s === undefined) throw new Error(`no socket ${String(cmd.name)}`);
  return s;
}

/** Sockets and eventfds (a threaded packet socket has one) among this process's open file descriptors. */
function socketFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith('socket:') || target === 'anon_inode:[eventfd]') n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

function handle(cmd: Command): unknown {
  switch (cmd.op) {
    case 'info':
      return interfaceInfo(cmd.ifname ?? '');
    case 'open': {
      const name = cmd.name ?? '';
      const entry: Open = {
        sock: PacketSocket.open({
          ifname: cmd.ifname ?? '',
          ethertype: cmd.ethertype ?? 0,
          ...(cmd.filter === undefined ? {} : { filter: Buffer.from(cmd.filter, 'hex') }),
          ...(cmd.answerInThread === undefined ? {} : { answerInThread: cmd.answerInThread }),
          onFrames: (frames) => {
            out({
              event: 'frames',
              t: Date.now(),
              name,
              afterClose: entry.closed,
              frames: frames.map((f) => ({ hex: f.data.toString('hex'), pktType: f.pktType })),
            });
          },
          onError: (err) => {
            out({ event: 'error', name, error: errorJson(err) });
          },
        }),
        closed: false,
      };
      sockets.set(name, entry);
      return { ifindex: entry.sock.ifindex, mac: entry.sock.mac };
    }
    case 'send':
      socketOf(cmd).sock.send(Buffer.from(cmd.hex ?? '', 'hex'));
      return null;
    case 'send-every': {
      // `count` copies of the frame, `ms` apart, on the agent's own timer (no
      // round trip to the driving process per frame); replies when done.
      const { sock } = socketOf(cmd);
      const frame = Buffer.from(cmd.hex ?? '', 'hex');
      return new Promise<null>((resolve) => {
        let left = cmd.count ?? 1;
        const next = (): void => {
          sock.send(frame);
          if (--left > 0) setTimeout(next, cmd.ms ?? 10);
          else resolve(null);
        };
        next();
      });
    }
    case 'join':
      socketOf(cmd).sock.join(cmd.mac ?? '');
      return null;
    case 'leave':
      socketOf(cmd).sock.leave(cmd.mac ?? '');
      return null;
    case 'stats':
      return socketOf(cmd).sock.stats();
    case 'close': {
      const s = socketOf(cmd);
      s.closed = true;
      s.sock.close();
      s.sock.close(); // a second close is harmless
      return { closed: s.sock.closed };
    }
    case 'fds':
      return socketFds();
    case 'monitor-start':
      monitor = new LinkMonitor({
        onEvent: (ev) => {
          out({ event: 'link-monitor', value: ev });
        },
        onSync: () => {
          out({ event: 'sync' });
        },
        onError: (err) => {
          out({ event: 'error', name: 'monitor', error: errorJson(err) });
        },
      });
      monitor.start();
      return null;
    case 'monitor-stop':
      monitor?.stop();
      return null;
    case 'wire':
      wire = new Wire({
        interfaces: cmd.interfaces ?? ['eth0'],
        ...(cmd.config === undefined ? {} : { config: cmd.config }),
        ...(cmd.answerInThread === undefined ? {} : { answerInThread: cmd.answerInThread }),
        onEvent: (e) => {
          out({
            event: 'wire',
            t: wallNow(),
            value: e.type === 'send-failed' ? { ...e, error: errorJson(e.error) } : e,
          });
        },
      });
      wire.start();
      return null;
    case 'announce': {
      // The decision time, as the speaker would record it (wall clock, comparable across processes).
      const t = wallNow();
      theWire().responder.announce(cmd.ip ?? '', {
        interfaces: cmd.interfaces,
        ...(cmd.probe === undefined ? {} : { probe: cmd.probe }),
      });
      return { t };
    }
    case 'withdraw':
      theWire().responder.withdraw(cmd.ip ?? '');
      return { t: wallNow() };
    case 'wire-stats':
      return theWire().responder.stats();
    case 'block': {
      // Holds the event loop for `ms` (a long collection, a stopped turn), asleep
      // (Atomics.wait: no CPU taken from the tests beside it): the 'blocking'
      // event goes out first (stdout is synchronous on a pipe).
      const start = wallNow();
      out({ event: 'blocking', t: start });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, cmd.ms ?? 1000);
      return { start, end: wallNow() };
    }
    case 'exit':
      wire?.stop();
      for (const s of sockets.values()) s.sock.close();
      monitor?.stop();
      process.stdin.destroy();
      return null;
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  const fail = (err: unknown): void => {
    out({ id: cmd.id, ok: false, error: errorJson(err) });
  };
  try {
    const value = handle(cmd);
    if (value instanceof Promise)
      value.then((v: unknown) => {
        out({ id: cmd.id, ok: true, value: v });
      }, fail);
    else out({ id: cmd.id, ok: true, value });
  } catch (err) {
    fail(err);
  }
});
out({ ready: true, pid: process.pid, uid: process.getuid?.() });
