/**
 * The one JSON Schema (draft-07) of the config file: its `speaker:` and
 * `controller:` sections. The processes check the file with it (file.ts,
 * through ajv) and the chart's values.schema.json carries it as `config`
 * (scripts/values-schema.ts writes it there; a unit test keeps them equal), so
 * a wrong key or type is refused by `helm install/upgrade` and by the process
 * in the same words, before a speaker can crash-loop a rollout.
 *
 * The schema checks keys, types and plain bounds; the checks between settings
 * (validateMeshConfig, validateWireConfig, the leader timings) stay with the
 * settings they govern.
 */
import { WIRE_DEFAULTS } from '../arp/index.ts';
import { PROFILES, WATCH_DEFAULTS } from '../mesh/index.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What JSON Schema keywords the schema uses (the error formatter knows each). */
export interface Schema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  items?: Schema;
  enum?: readonly (string | number)[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  minItems?: number;
  pattern?: string;
}

const object = (description: string, properties: Record<string, Schema>): Schema => ({
  type: 'object',
  description,
  additionalProperties: false,
  properties,
});

/** A section of numbers (mesh, watch, wire): exactly the keys of its defaults. */
const numbers = (description: string, defaults: object, each: Schema): Schema =>
  object(description, Object.fromEntries(Object.keys(defaults).map((k) => [k, each])));

const logLevel: Schema = {
  enum: LOG_LEVELS,
  description: 'trace, debug, info, warn, error, fatal or silent',
};
/** host:port, :port, [ipv6]:port or off (checked further by the process). */
const listenAddr = (what: string): Schema => ({
  type: 'string',
  minLength: 1,
  description: `${what}: HOST:PORT, :PORT, [IPV6]:PORT or off`,
});
const millis = (description: string, minimum = 1): Schema => ({ type: 'integer', minimum, description });

const SPEAKER = object("The speaker's settings (docs/configuration.md).", {
  interfaces: {
    type: ['string', 'array'],
    description: '"auto" (every addressed interface except virtual ones) or a list of interface names',
    pattern: '^auto$',
    minItems: 1,
    items: { type: 'string', pattern: '^[^\\s/]{1,15}$' },
  },
  waitForInterfaces: { type: 'boolean', description: 'wait for a named interface missing at start' },
  meshProfile: { enum: Object.keys(PROFILES), description: 'the mesh timings to start from' },
  mesh: numbers('Mesh timings over the profile (docs/mesh.md).', PROFILES['lan-fast'], {
    type: 'number',
    minimum: 0,
  }),
  watch: numbers("The heirs' fast watch of their announcer (docs/election.md).", WATCH_DEFAULTS, {
    type: 'integer',
    minimum: 1,
  }),
  wire: numbers('ARP/NDP answering (docs/configuration.md).', WIRE_DEFAULTS, { type: 'number', minimum: 0 }),
  handoffTimeoutMs: millis('on SIGTERM, answer until successors claim, at most this long', 0),
  localTrafficWaitMs: millis(
    "before taking a Local Service's IP, wait at most this long for the node's kube-proxy (0: never ask)",
    0,
  ),
  balanceSlack: {
    type: ['number', 'string'],
    minimum: 0,
    maximum: 10,
    pattern: '^off$',
    description: 'the load bound: no node announces more than (1 + this) times its even share (0.25), or off',
  },
  rebalanceIntervalMs: millis('at most one rebalancing move onto a node per this many ms (0: no pacing)', 0),
  logLevel,
  metricsAddr: listenAddr('/metrics'),
  healthAddr: listenAddr('/healthz, /readyz, /debug/*'),
  stateDir: {
    type: 'string',
    minLength: 1,
    description: 'the directory on the node for the peer key and saved view, or off',
  },
  meshPort: { type: 'integer', minimum: 1, maximum: 65_535, description: 'the mesh port (TCP and UDP)' },
  pulsePort: {
    type: 'integer',
    minimum: 0,
    maximum: 65_535,
    description: "the pulse's UDP port (heartbeats to the heirs), 0: none",
  },
});

const CONTROLLER = object("The controller's settings (docs/controller.md).", {
  loadBalancerClass: {
    type: 'string',
    pattern: '^\\S+$',
    description: 'serve Services of this spec.loadBalancerClass only',
  },
  logLevel,
  metricsAddr: listenAddr('/metrics, /healthz, /readyz, /debug/controller'),
  leaseDurationMs: millis('leader election: how long a Lease holds'),
  renewDeadlineMs: millis('leader election: the leader steps down if it cannot renew within this'),
  retryPeriodMs: millis('leader election: between attempts'),
});

/** The schema of the whole config file (and of the chart's `config` value). */
export const CONFIG_SCHEMA: Schema = object(
  'Settings written to the ConfigMap meshlb-config as config.yaml; the processes refuse what this refuses.',
  { speaker: SPEAKER, controller: CONTROLLER },
);
