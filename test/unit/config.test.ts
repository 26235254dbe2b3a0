import test from 'ava';
import { controllerSettings } from '../../src/cli/controller.ts';
import { CliUsageError } from '../../src/cli/errors.ts';
import { CONFIG_SCHEMA, ConfigFileError, configProblems, readConfigFile } from '../../src/config/index.ts';
import { generate, stale } from '../../scripts/gen-values-schema.ts';

const noFile = (): string => {
  throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
};
const file = (text: string) => (): string => text;

test('a config file with every setting of both sections is valid', (t) => {
  const doc = {
    speaker: {
      interfaces: ['eth0', 'bond0.100'],
      waitForInterfaces: true,
      meshProfile: 'lan-conservative',
      mesh: { probeIntervalMs: 100, suspicionMinMs: 300, confirmProbes: 0 },
      watch: { intervalMs: 20, confirmRounds: 3 },
      wire: { burstCount: 4, refreshIntervalMs: 0 },
      handoffTimeoutMs: 0,
      logLevel: 'debug',
      metricsAddr: ':7475',
      healthAddr: 'off',
      stateDir: '/var/lib/meshlb/n1',
      meshPort: 7947,
    },
    controller: {
      loadBalancerClass: 'meshlb.io/l2',
      logLevel: 'warn',
      metricsAddr: '127.0.0.1:7473',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    },
  };
  t.deepEqual(configProblems(doc), []);
  t.deepEqual(configProblems({}), []);
  t.deepEqual(configProblems({ speaker: { interfaces: 'auto' } }), []);
});

test("problems are worded as Helm words them for the chart's values, one line each", (t) => {
  const cases: [unknown, string[]][] = [
    [{ speakr: {} }, ["at '': additional properties 'speakr' not allowed"]],
    [
      { speaker: { colour: 'blue', mesh: { probeIntervl: 1, probeTimeoutMs: '80' } } },
      [
        "at '/speaker': additional properties 'colour' not allowed",
        "at '/speaker/mesh': additional properties 'probeIntervl' not allowed",
        "at '/speaker/mesh/probeTimeoutMs': got string, want number",
      ],
    ],
    [{ speaker: { meshPort: 70_000 } }, ["at '/speaker/meshPort': maximum: got 70,000, want 65,535"]],
    [{ speaker: { meshPort: 0 } }, ["at '/speaker/meshPort': minimum: got 0, want 1"]],
    [{ speaker: { meshPort: '7947' } }, ["at '/speaker/meshPort': got string, want integer"]],
    [
      { speaker: { watch: { intervalMs: 2.5 } } },
      ["at '/speaker/watch/intervalMs': got number, want integer"],
    ],
    [
      { speaker: { logLevel: 'loud' } },
      [
        "at '/speaker/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'",
      ],
    ],
    [
      { speaker: { interfaces: 'eth0' } },
      ["at '/speaker/interfaces': 'eth0' does not match pattern '^auto$'"],
    ],
    [{ speaker: { interfaces: [] } }, ["at '/speaker/interfaces': minItems: got 0, want 1"]],
    [{ speaker: { stateDir: '' } }, ["at '/speaker/stateDir': minLength: got 0, want 1"]],
    [
      { speaker: { waitForInterfaces: 'yes' } },
      ["at '/speaker/waitForInterfaces': got string, want boolean"],
    ],
    [{ speaker: [] }, ["at '/speaker': got array, want object"]],
    [
      { controller: { leaseDuration: 1, loadBalancerClass: 'a b' } },
      [
        "at '/controller': additional properties 'leaseDuration' not allowed",
        "at '/controller/loadBalancerClass': 'a b' does not match pattern '^\\S+$'",
      ],
    ],
  ];
  for (const [doc, want] of cases) t.deepEqual(configProblems(doc), want, JSON.stringify(doc));
});

test('readConfigFile: YAML, then the schema; every problem in one ConfigFileError naming the file', (t) => {
  t.is(readConfigFile('/etc/c.yaml', false, noFile), undefined, 'a missing optional file is no error');
  t.throws(() => readConfigFile('/etc/c.yaml', true, noFile), {
    instanceOf: ConfigFileError,
    message: /cannot read the config file \/etc\/c.yaml/,
  });
  t.deepEqual(readConfigFile('c', false, file('')), {});
  t.deepEqual(readConfigFile('c', false, file('speaker:\n  meshPort: 8000\n')), {
    speaker: { meshPort: 8000 },
  });
  const err = t.throws(
    () => readConfigFile('/etc/c.yaml', false, file('speaker:\n  colour: 1\n  meshPort: x\n')),
    {
      instanceOf: ConfigFileError,
    },
  );
  t.is(
    err.message,
    "/etc/c.yaml does not meet the config schema (docs/configuration.md): at '/speaker': additional properties 'colour' not allowed; at '/speaker/meshPort': got string, want integer",
  );
  t.throws(() => readConfigFile('c', false, file('- 1\n')), { message: /at '': got array, want object/ });
});

test("the controller reads the config file's controller section; flags and variables win", (t) => {
  const env = { POD_NAME: 'c-1', POD_NAMESPACE: 'meshlb-system' };
  const yaml =
    'controller:\n  loadBalancerClass: meshlb.io/l2\n  logLevel: debug\n  leaseDurationMs: 6000\n  renewDeadlineMs: 4000\n  retryPeriodMs: 1000\n';
  const s = controllerSettings([], env, () => undefined, file(yaml));
  t.is(s.loadBalancerClass, 'meshlb.io/l2');
  t.is(s.logLevel, 'debug');
  t.deepEqual(s.leader, { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 1000 });
  t.is(s.configFile, '/etc/meshlb/config/config.yaml');
  const over = controllerSettings(
    ['--log-level', 'warn'],
    { ...env, MESHLB_LB_CLASS: 'x' },
    () => undefined,
    file(yaml),
  );
  t.is(over.logLevel, 'warn');
  t.is(over.loadBalancerClass, 'x');
  // No file: the defaults, and no error (the ConfigMap is optional).
  t.is(controllerSettings([], env, () => undefined, noFile).configFile, undefined);
  t.throws(() => controllerSettings([], env, () => undefined, file('controller:\n  leaseDuration: 1\n')), {
    instanceOf: ConfigFileError,
    message: /at '\/controller': additional properties 'leaseDuration' not allowed/,
  });
  // The timings' order is still checked where they are resolved.
  t.throws(
    () => controllerSettings([], env, () => undefined, file('controller:\n  renewDeadlineMs: 20000\n')),
    { instanceOf: CliUsageError, message: /retry period < renew deadline < lease duration/ },
  );
});

test("values.schema.json carries the config schema as 'config' (run node scripts/gen-values-schema.ts)", async (t) => {
  t.false(await stale());
  // The check can fail: another schema gives another file.
  t.not(await generate({ ...CONFIG_SCHEMA, description: 'changed' }), await generate());
});
