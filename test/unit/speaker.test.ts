import test from 'ava';
import type { Decision } from '../../src/election/index.ts';
import { CliUsageError } from '../../src/cli/errors.ts';
import { ConfigFileError } from '../../src/config/index.ts';
import {
  autoInterfaces,
  ClaimBook,
  DEFAULT_HANDOFF_TIMEOUT_MS,
  MeshKeyError,
  plan,
  readMeshKey,
  speakerSettings,
  type Held,
} from '../../src/speaker/index.ts';

const decision = (ip: string, announcer: string | undefined, over: Partial<Decision> = {}): Decision => ({
  ip,
  pool: 'p',
  announcer,
  interfaces: [],
  claim: announcer === undefined ? undefined : { ip, node: announcer, epoch: 1 },
  cause: announcer === undefined ? 'none' : 'fresh',
  heirs: [],
  ...over,
});
const held = (ip: string, epoch = 1, interfaces: string[] = []): [string, Held] => [
  ip,
  { ip, interfaces, epoch, since: new Date(0) },
];

test('plan: announce what names this node, withdraw what does not, watch the announcers it is heir of', (t) => {
  const p = plan(
    'a',
    [
      decision('10.0.0.1', 'a'),
      decision('10.0.0.2', 'b', { heirs: ['a', 'c'] }),
      decision('10.0.0.3', undefined),
      decision('10.0.0.4', 'a', {
        cause: 'takeover',
        previous: 'c',
        claim: { ip: '10.0.0.4', node: 'a', epoch: 3 },
      }),
    ],
    new Map([held('10.0.0.2'), held('10.0.0.3'), held('10.0.0.9')]),
  );
  t.deepEqual(
    p.announce.map((a) => [a.ip, a.probe, a.cause, a.previous]),
    [
      ['10.0.0.1', true, 'fresh', undefined],
      ['10.0.0.4', false, 'takeover', 'c'],
    ],
  );
  t.deepEqual(p.withdraw.sort(), ['10.0.0.2', '10.0.0.3', '10.0.0.9']);
  t.deepEqual(p.watch, ['b']);
  t.is(p.claims.length, 3);
  t.deepEqual(p.retarget, []);
});

test('plan: a held IP with other interfaces or a new epoch is retargeted, not announced again', (t) => {
  const p = plan(
    'a',
    [
      decision('10.0.0.1', 'a', { interfaces: ['eth1', 'eth0'], cause: 'kept' }),
      decision('10.0.0.2', 'a', { cause: 'kept' }),
    ],
    new Map([held('10.0.0.1', 1, ['eth0']), held('10.0.0.2')]),
  );
  t.deepEqual(p.announce, []);
  t.deepEqual(p.retarget, [{ ip: '10.0.0.1', interfaces: ['eth0', 'eth1'], epoch: 1 }]);
  t.deepEqual(p.withdraw, []);
});

test('plan: a rebalance away from this node is make-before-break: it answers until the taker has claimed', (t) => {
  const away = decision('10.0.0.1', 'b', {
    cause: 'rebalance',
    previous: 'a',
    claim: { ip: '10.0.0.1', node: 'b', epoch: 2 },
  });
  const holder = plan('a', [away], new Map([held('10.0.0.1')]));
  t.deepEqual(holder.withdraw, [], 'the holder keeps answering');
  t.deepEqual(holder.announce, []);
  const taker = plan('b', [away], new Map());
  t.deepEqual(
    taker.announce.map((a) => [a.ip, a.cause, a.probe]),
    [['10.0.0.1', 'rebalance', false]],
    'the taker announces (no RFC 5227 probe: the address is in use, by design)',
  );
  // The taker's claim arrived: the decision is the taker's, kept; the old holder withdraws.
  const claimed = decision('10.0.0.1', 'b', {
    cause: 'kept',
    claim: { ip: '10.0.0.1', node: 'b', epoch: 2 },
  });
  t.deepEqual(plan('a', [claimed], new Map([held('10.0.0.1')])).withdraw, ['10.0.0.1']);
});

test('claim book: merges by the election order and reports only changes', (t) => {
  let changes = 0;
  const book = new ClaimBook(() => changes++);
  book.merge([{ ip: '10.0.0.1', node: 'a', epoch: 2 }]);
  book.merge([{ ip: '10.0.0.1', node: 'b', epoch: 1 }]); // older: ignored
  book.merge([{ ip: '10.0.0.1', node: 'a', epoch: 2 }]); // the same: no change
  t.is(changes, 1);
  t.deepEqual(book.add([{ ip: '10.0.0.1', node: 'c', epoch: 3 }]), [{ ip: '10.0.0.1', node: 'c', epoch: 3 }]);
  t.is(changes, 1, 'add() is the speaker’s own: no notification');
  t.is(book.get('10.0.0.1')?.node, 'c');
});

test('claim book: a claim of another node that loses to the standing one is a rival', (t) => {
  const rivals: string[] = [];
  const book = new ClaimBook(undefined, (r) => rivals.push(...r.map((c) => `${c.ip}:${c.node}@${c.epoch}`)));
  book.add([{ ip: '10.0.0.1', node: 'a', epoch: 3 }]);
  book.merge([{ ip: '10.0.0.1', node: 'b', epoch: 2 }]); // older, another node: a rival
  book.merge([{ ip: '10.0.0.1', node: 'a', epoch: 2 }]); // older, the same node: old news
  book.merge([{ ip: '10.0.0.1', node: 'c', epoch: 4 }]); // newer: it stands, no rival
  t.deepEqual(rivals, ['10.0.0.1:b@2']);
  t.is(book.get('10.0.0.1')?.node, 'c');
});

const env = { NODE_NAME: 'n1', POD_NAME: 'speaker-x', POD_IP: '192.0.2.10' };
const noFile = (): string => {
  throw Object.assign(new Error('missing'), { code: 'ENOENT' });
};
const settings = (args: string[], e: NodeJS.ProcessEnv = env, file?: string) =>
  speakerSettings(args, e, {
    read: file === undefined ? noFile : () => file,
    inClusterNamespace: () => undefined,
  });

test('settings: defaults from the downward API variables', (t) => {
  const s = settings([]);
  t.is(s.nodeName, 'n1');
  t.is(s.podName, 'speaker-x');
  t.is(s.meshAddress, '192.0.2.10');
  t.is(s.meshPort, 7947, 'not MetalLB’s 7946');
  t.is(s.namespace, 'meshlb-system');
  t.is(s.meshProfile, 'lan-fast');
  t.is(s.interfaces, 'auto');
  t.is(s.metricsAddr, ':7475', 'not MetalLB’s 7472');
  t.is(s.healthAddr, '127.0.0.1:7474', 'probes and debug on loopback only');
  t.is(s.stateDir, undefined, 'a new identity at every start unless told where to keep it');
  t.is(s.handoffTimeoutMs, DEFAULT_HANDOFF_TIMEOUT_MS);
  t.is(s.balanceSlack, 0.25, 'the load bound is on');
  t.is(s.rebalanceIntervalMs, 250);
  t.is(s.configFile, undefined);
});

test('settings: the load bound and the rebalancing pace, by flag, variable or file; off turns the bound off', (t) => {
  t.is(settings(['--balance-slack', '0.5']).balanceSlack, 0.5);
  t.is(settings([], { ...env, MESHLB_BALANCE_SLACK: 'off' }).balanceSlack, 'off');
  t.is(settings([], env, 'speaker:\n  balanceSlack: 0\n  rebalanceIntervalMs: 0\n').balanceSlack, 0);
  t.is(settings([], env, 'speaker:\n  rebalanceIntervalMs: 0\n').rebalanceIntervalMs, 0, '0: no pacing');
  t.is(settings([], env, 'speaker:\n  balanceSlack: "off"\n').balanceSlack, 'off');
  t.regex(
    t.throws(() => settings(['--balance-slack=-1']), { instanceOf: CliUsageError }).message,
    /--balance-slack must be a number from 0 to 10.*or off; got "-1"/,
  );
  t.regex(
    t.throws(() => settings([], env, 'speaker:\n  balanceSlack: lots\n'), { instanceOf: ConfigFileError })
      .message,
    /balanceSlack/,
  );
  t.regex(
    t.throws(() => settings(['--rebalance-interval-ms', 'soon']), { instanceOf: CliUsageError }).message,
    /--rebalance-interval-ms must be a whole number of milliseconds/,
  );
});

test('settings: the pulse port (default 7948; 0: none) and the pulse timers checked against each other', (t) => {
  t.is(settings([]).pulsePort, 7948);
  t.is(settings(['--pulse-port', '0']).pulsePort, 0);
  t.is(settings([], { ...env, MESHLB_PULSE_PORT: '9001' }).pulsePort, 9001);
  t.is(settings([], env, 'speaker:\n  pulsePort: 9002\n').pulsePort, 9002);
  t.regex(
    t.throws(() => settings(['--pulse-port', 'udp']), { instanceOf: CliUsageError }).message,
    /--pulse-port must be a port number 1…65535, or 0 \(no pulse\); got "udp"/,
  );
  t.regex(
    t.throws(() => settings(['--pulse-port', '7947']), { instanceOf: CliUsageError }).message,
    /the pulse port and the mesh port must differ/,
  );
  t.is(settings([]).watch.pulseIntervalMs, 4);
  t.regex(
    t.throws(() => settings([], env, 'speaker:\n  watch:\n    pulseIntervalMs: 10\n'), {
      instanceOf: ConfigFileError,
    }).message,
    /pulseSilenceMs must be at least twice pulseIntervalMs \(20\)/,
  );
  t.is(
    settings([], env, 'speaker:\n  watch:\n    pulseIntervalMs: 10\n    pulseSilenceMs: 30\n').watch
      .pulseSilenceMs,
    30,
  );
});

test('settings: flag over variable over config file', (t) => {
  const file =
    'speaker:\n  meshPort: 8000\n  interfaces: [eth1]\n  logLevel: debug\n  wire:\n    burstCount: 2\n';
  const s = settings(['--mesh-port', '9000'], { ...env, MESHLB_INTERFACES: 'eth0,eth2' }, file);
  t.is(s.meshPort, 9000);
  t.deepEqual(s.interfaces, ['eth0', 'eth2']);
  t.is(s.logLevel, 'debug');
  t.is(s.wire.burstCount, 2);
  t.is(s.configFile, '/etc/meshlb/config/config.yaml');
  t.is(settings(['--metrics-addr', 'off']).metricsAddr, undefined);
  t.is(settings(['--health-addr', 'off']).healthAddr, undefined);
  t.is(settings([], { ...env, MESHLB_HEALTH_ADDR: ':7474' }).healthAddr, ':7474');
  t.is(settings([], env, 'speaker:\n  healthAddr: "[::1]:9000"\n').healthAddr, '[::1]:9000');
  t.is(settings(['--state-dir', '/var/lib/meshlb/n1']).stateDir, '/var/lib/meshlb/n1');
  t.is(settings([], { ...env, MESHLB_STATE_DIR: 'off' }).stateDir, undefined);
  t.is(settings([], env, 'speaker:\n  stateDir: /k\n').stateDir, '/k');
  // MESHLB_CONFIG names the optional ConfigMap's file: missing is no error (only --config must exist).
  t.is(settings([], { ...env, MESHLB_CONFIG: '/etc/meshlb/config/config.yaml' }).configFile, undefined);
});

test('settings: --wait-for-interfaces, MESHLB_WAIT_FOR_INTERFACES and speaker.waitForInterfaces; off by default', (t) => {
  t.false(settings([]).waitForInterfaces);
  t.true(settings(['--wait-for-interfaces']).waitForInterfaces);
  t.true(settings([], { ...env, MESHLB_WAIT_FOR_INTERFACES: 'true' }).waitForInterfaces);
  t.true(settings([], env, 'speaker:\n  waitForInterfaces: true\n').waitForInterfaces);
  t.regex(
    t.throws(() => settings([], { ...env, MESHLB_WAIT_FOR_INTERFACES: 'sometimes' })).message,
    /MESHLB_WAIT_FOR_INTERFACES must be true or false/,
  );
});

test('settings: errors name the setting and what to do', (t) => {
  const err = (args: string[], e: NodeJS.ProcessEnv = env, file?: string): string =>
    t.throws(() => settings(args, e, file), {
      instanceOf: file === undefined ? CliUsageError : ConfigFileError,
    }).message;
  t.regex(err([], { POD_NAME: 'p', POD_IP: '192.0.2.1' }), /node name is not set.*NODE_NAME/);
  t.regex(err([], { NODE_NAME: 'n', POD_IP: '192.0.2.1' }), /Pod name is not set.*POD_NAME/);
  t.regex(err(['--mesh-address', 'node-1']), /"node-1" is not an IP address/);
  t.regex(err(['--mesh-port', '70000']), /--mesh-port must be a port number/);
  t.regex(err(['--mesh-profile', 'fastest']), /--mesh-profile must be one of lan-fast/);
  t.regex(
    err([], env, 'speaker:\n  colour: blue\n'),
    /at '\/speaker': additional properties 'colour' not allowed/,
  );
  t.regex(err([], env, 'speaker:\n  wire:\n    burstCount: 99\n'), /burstCount must be 1…20/);
  t.regex(
    err([], env, 'speaker:\n  mesh:\n    probeIntervalMs: fast\n'),
    /at '\/speaker\/mesh\/probeIntervalMs': got string, want number/,
  );
  t.regex(err([], env, 'speaker: [1'), /not valid YAML/);
  t.regex(err(['--interfaces', 'a very long name']), /interface names/);
  t.regex(err(['--metrics-addr', 'localhost']), /--metrics-addr: .*host:port.*\(or "off"\)/);
  t.regex(err(['--health-addr', '7474']), /--health-addr: .*host:port.*\(or "off"\)/);
  t.regex(err(['--handoff-timeout-ms', '1.5']), /whole number of milliseconds/);
  // A config file that cannot be read is the file's fault, not the command line's.
  t.regex(
    t.throws(() => settings(['--config', '/nonexistent/x.yaml'], env), { instanceOf: ConfigFileError })
      .message,
    /cannot read the config file/,
  );
});

test('mesh key: 64 hex characters, else a named error saying how to make one', (t) => {
  t.is(readMeshKey('k', () => `${'ab'.repeat(32)}\n`).length, 32);
  t.regex(
    t.throws(() => readMeshKey('k', () => 'short'), { instanceOf: MeshKeyError }).message,
    /openssl rand -hex 32/,
  );
  t.regex(
    t.throws(() => readMeshKey('k', noFile), { instanceOf: MeshKeyError }).message,
    /create the Secret meshlb-mesh-key/,
  );
});

test('auto interfaces: addressed, not loopback, not container or tunnel devices', (t) => {
  const addr = (internal: boolean) => [{ internal } as never];
  t.deepEqual(
    autoInterfaces({
      lo: addr(true),
      eth0: addr(false),
      bond0: addr(false),
      docker0: addr(false),
      cali1234: addr(false),
      'flannel.1': addr(false),
      veth99: addr(false),
      'kube-ipvs0': addr(false),
      ens3: [],
    }),
    ['bond0', 'eth0'],
  );
});
