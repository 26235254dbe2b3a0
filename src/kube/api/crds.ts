/**
 * meshlb's CustomResourceDefinitions: THE source of truth for the API. deploy/crds/*.yaml
 * and types.generated.ts are generated from these objects by scripts/gen-crds.ts, and
 * test/unit/kube-api-generated.test.ts fails when the committed files differ from a
 * fresh generation. Edit here, then run `node scripts/gen-crds.ts`.
 *
 * Descriptions become the `kubectl explain` text and the TypeScript doc comments.
 */
import {
  ADDRESS_RULES,
  ANNOUNCED_IP_RULES,
  INTERFACE_RULES,
  L2ADVERTISEMENT_SPEC_RULES,
  SELECTOR_REQUIREMENT_RULES,
} from './cel.ts';
import { API_VERSION, GROUP, PLURALS, VERSION } from './constants.ts';
import { named, type CustomResourceDefinition, type PrinterColumn, type Schema } from './schema.ts';

// --- shared pieces ---

const labelSelectorRequirement = named('LabelSelectorRequirement', {
  type: 'object',
  description: 'One requirement of a label selector: a key, an operator and values.',
  required: ['key', 'operator'],
  properties: {
    key: { type: 'string', description: 'The label key.', minLength: 1, maxLength: 317 },
    operator: {
      type: 'string',
      description: 'How the label relates to the values.',
      enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
    },
    values: {
      type: 'array',
      description: 'Values for In and NotIn; empty for Exists and DoesNotExist.',
      maxItems: 64,
      items: { type: 'string', maxLength: 63 },
    },
  },
  'x-kubernetes-validations': SELECTOR_REQUIREMENT_RULES,
});

const labelSelector = named('LabelSelector', {
  type: 'object',
  description:
    'A Kubernetes label selector: every matchLabels entry and every matchExpressions requirement must hold. An empty selector ({}) selects everything.',
  properties: {
    matchLabels: {
      type: 'object',
      description: 'Labels that must be present with these values.',
      maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 63 },
    },
    matchExpressions: {
      type: 'array',
      description: 'Requirements that must all hold.',
      maxItems: 16,
      items: labelSelectorRequirement,
    },
  },
  'x-kubernetes-map-type': 'atomic',
});

const selectorList = (description: string): Schema => ({
  type: 'array',
  description,
  maxItems: 16,
  items: labelSelector,
});

const condition = named('Condition', {
  type: 'object',
  description: 'A metav1.Condition: one aspect of the current state.',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: {
      type: 'string',
      description: 'CamelCase type of the condition, such as Ready.',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', description: 'True, False or Unknown.', enum: ['True', 'False', 'Unknown'] },
    reason: {
      type: 'string',
      description: 'CamelCase reason for the last transition, for machines.',
      minLength: 1,
      maxLength: 1024,
      pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
    },
    message: { type: 'string', description: 'What happened, for people.', maxLength: 32768 },
    observedGeneration: {
      type: 'integer',
      format: 'int64',
      description: 'The metadata.generation the condition was set from.',
      minimum: 0,
    },
    lastTransitionTime: {
      type: 'string',
      format: 'date-time',
      description: 'When the status last changed.',
    },
  },
});

const conditions: Schema = {
  type: 'array',
  description: 'Current state, one entry per condition type.',
  maxItems: 16,
  items: condition,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

const interfaceName: Schema = {
  type: 'string',
  description: 'A network interface name.',
  minLength: 1,
  maxLength: 15,
  'x-kubernetes-validations': INTERFACE_RULES,
};

/**
 * `set` where people write the list (an L2Advertisement); `atomic` where one
 * writer replaces it whole (an announcement's interfaces: with server-side apply,
 * items of a set are owned one by one, so a takeover would add the new node's
 * interfaces to the old node's instead of replacing them).
 */
const interfaceList = (description: string, listType: 'set' | 'atomic' = 'set'): Schema => ({
  type: 'array',
  description,
  maxItems: 32,
  items: interfaceName,
  'x-kubernetes-list-type': listType,
});

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The envelope every kind shares: apiVersion, kind, metadata, then its own fields. */
function objectSchema(
  kind: string,
  description: string,
  fields: Readonly<Record<string, Schema>>,
  required: readonly string[],
): Schema {
  return named(kind, {
    type: 'object',
    description,
    required,
    properties: {
      apiVersion: { type: 'string', description: API_VERSION },
      kind: { type: 'string', description: kind },
      metadata: { type: 'object' },
      ...fields,
    },
  });
}

function crd(
  kind: keyof typeof PLURALS,
  scope: 'Cluster' | 'Namespaced',
  names: { shortNames?: readonly string[] },
  schema: Schema,
  additionalPrinterColumns: readonly PrinterColumn[],
): CustomResourceDefinition {
  const plural = PLURALS[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        ...names,
        categories: ['meshlb'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          subresources: { status: {} },
          additionalPrinterColumns,
        },
      ],
    },
  };
}

// --- IPPool ---

const familyStatus = named('FamilyStatus', {
  type: 'object',
  description: 'Address counts of one family.',
  required: ['assigned', 'available'],
  properties: {
    assigned: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'Addresses of this family assigned to Services.',
    },
    available: {
      type: 'string',
      description:
        'Addresses of this family still free, as a decimal string: an IPv6 pool can hold up to 2^128 addresses, more than int64 (and far more than a JavaScript number holds exactly).',
      maxLength: 40,
      pattern: '^(0|[1-9][0-9]*)$',
    },
  },
});

const serviceAllocation = named('ServiceAllocation', {
  type: 'object',
  description:
    'Which Services the pool serves and in what order pools are tried. Without it the pool serves every Service, after the pools that set a priority.',
  properties: {
    priority: {
      type: 'integer',
      format: 'int32',
      minimum: 0,
      description:
        'Lower numbers are tried first (0 is the highest priority), as in MetalLB. Pools without a priority come after every pool with one; ties are broken by pool name.',
    },
    namespaces: {
      type: 'array',
      description: 'Namespaces whose Services may get addresses from this pool (any of them).',
      maxItems: 64,
      items: { type: 'string', minLength: 1, maxLength: 63 },
      'x-kubernetes-list-type': 'set',
    },
    namespaceSelectors: selectorList(
      'Namespaces, by their labels, whose Services may get addresses from this pool (any selector matching is enough).',
    ),
    serviceSelectors: selectorList(
      'Services, by their labels, that may get addresses from this pool (any selector matching is enough).',
    ),
  },
});

const ipPoolSpec = named('IPPoolSpec', {
  type: 'object',
  description: 'The addresses of the pool and who may use them.',
  required: ['addresses'],
  properties: {
    addresses: {
      type: 'array',
      description:
        'CIDRs (198.51.100.0/24, fd00::/120) and ranges (198.51.100.10-198.51.100.20, fd00::10-fd00::1f), IPv4 and IPv6 mixed as needed.',
      minItems: 1,
      // The ordering rule's estimated cost times 32 entries is just under the CEL budget.
      maxItems: 32,
      // The longest valid entry: a range of two IPv6 addresses written with embedded IPv4
      // (ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255, 45 characters each).
      items: { type: 'string', minLength: 1, maxLength: 91, 'x-kubernetes-validations': ADDRESS_RULES },
      'x-kubernetes-list-type': 'set',
    },
    autoAssign: {
      type: 'boolean',
      default: true,
      description:
        'Assign from this pool to Services that do not ask for it by name or address. False reserves it for explicit requests.',
    },
    avoidBuggyIPs: {
      type: 'boolean',
      default: false,
      description:
        'Skip IPv4 addresses ending in .0 or .255, which some old clients and routers mistake for network or broadcast addresses.',
    },
    serviceAllocation,
  },
});

const ipPoolStatus = named('IPPoolStatus', {
  type: 'object',
  description: 'What the controller observed of the pool.',
  properties: {
    assigned: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'Addresses assigned to Services, both families together.',
    },
    ipv4: familyStatus,
    ipv6: familyStatus,
    conditions,
  },
});

export const ipPoolCrd = crd(
  'IPPool',
  'Cluster',
  {},
  objectSchema(
    'IPPool',
    'A pool of addresses that the meshlb controller assigns to LoadBalancer Services.',
    { spec: ipPoolSpec, status: ipPoolStatus },
    ['spec'],
  ),
  [
    { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses' },
    { name: 'Auto Assign', type: 'boolean', jsonPath: '.spec.autoAssign' },
    { name: 'Assigned', type: 'integer', jsonPath: '.status.assigned' },
    { name: 'IPv4 Available', type: 'string', jsonPath: '.status.ipv4.available' },
    { name: 'IPv6 Available', type: 'string', jsonPath: '.status.ipv6.available' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Priority', type: 'integer', jsonPath: '.spec.serviceAllocation.priority', priority: 1 },
    { name: 'Avoid Buggy IPs', type: 'boolean', jsonPath: '.spec.avoidBuggyIPs', priority: 1 },
    AGE,
  ],
);

// --- L2Advertisement ---

const l2AdvertisementSpec = named('L2AdvertisementSpec', {
  type: 'object',
  description: 'Which pools are announced over ARP/NDP, from which nodes and on which interfaces.',
  properties: {
    ipPools: {
      type: 'array',
      description: 'Names of the IPPools to advertise.',
      maxItems: 64,
      items: { type: 'string', minLength: 1, maxLength: 253 },
      'x-kubernetes-list-type': 'set',
    },
    ipPoolSelectors: selectorList(
      'IPPools to advertise, by their labels (any selector matching is enough); added to ipPools.',
    ),
    nodeSelectors: selectorList(
      'Nodes that may announce, by their labels (any selector matching is enough). None: every node.',
    ),
    interfaces: interfaceList('Interfaces to answer ARP/NDP on. None: every interface.'),
    cordonPolicy: {
      type: 'string',
      enum: ['Keep', 'HandOff'],
      default: 'Keep',
      description:
        'What a cordoned node (spec.unschedulable) does: Keep announcing, or HandOff its addresses to another node (only when every advertisement selecting it says HandOff).',
    },
    failback: {
      type: 'boolean',
      default: false,
      description:
        'Move an address back to its best-ranked node when that node becomes eligible again. Off by default: a healthy announcer keeps its addresses (no flapping back).',
    },
  },
  'x-kubernetes-validations': L2ADVERTISEMENT_SPEC_RULES,
});

const l2AdvertisementStatus = named('L2AdvertisementStatus', {
  type: 'object',
  description:
    'What the controller observed of the advertisement: the nodes it selects and the interfaces found on them.',
  properties: {
    matchedNodes: {
      type: 'integer',
      format: 'int32',
      minimum: 0,
      description: 'Nodes its nodeSelectors select (every node without selectors).',
    },
    conditions,
  },
});

export const l2AdvertisementCrd = crd(
  'L2Advertisement',
  'Cluster',
  { shortNames: ['l2adv'] },
  objectSchema(
    'L2Advertisement',
    'Announces the addresses of some IPPools from some nodes in layer 2 mode (ARP for IPv4, NDP for IPv6).',
    { spec: l2AdvertisementSpec, status: l2AdvertisementStatus },
    ['spec'],
  ),
  [
    { name: 'IP Pools', type: 'string', jsonPath: '.spec.ipPools' },
    { name: 'Nodes', type: 'integer', jsonPath: '.status.matchedNodes' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Interfaces', type: 'string', jsonPath: '.spec.interfaces' },
    { name: 'Cordon Policy', type: 'string', jsonPath: '.spec.cordonPolicy' },
    { name: 'Failback', type: 'boolean', jsonPath: '.spec.failback' },
    { name: 'IP Pool Selectors', type: 'string', jsonPath: '.spec.ipPoolSelectors', priority: 1 },
    { name: 'Node Selectors', type: 'string', jsonPath: '.spec.nodeSelectors', priority: 1 },
    AGE,
  ],
);

// --- ServiceAnnouncement ---

const ipAnnouncement = named('IPAnnouncement', {
  type: 'object',
  description: 'One address of the Service and the node answering for it.',
  required: ['ip', 'node', 'epoch', 'since'],
  properties: {
    ip: {
      type: 'string',
      description: 'The address, in canonical form.',
      maxLength: 39,
      'x-kubernetes-validations': ANNOUNCED_IP_RULES,
    },
    node: { type: 'string', description: 'The node announcing it.', minLength: 1, maxLength: 253 },
    interfaces: interfaceList('The interfaces it answers on.', 'atomic'),
    epoch: {
      type: 'integer',
      format: 'int64',
      minimum: 0,
      description: 'The claim epoch: rises by one with every change of announcer of this address.',
    },
    since: {
      type: 'string',
      format: 'date-time',
      description: 'When this node started announcing the address.',
    },
  },
});

const serviceAnnouncementStatus = named('ServiceAnnouncementStatus', {
  type: 'object',
  description: 'Who announces the addresses of the Service, as the announcing speakers report it.',
  properties: {
    announcements: {
      type: 'array',
      description:
        'One entry per announced address (a dual-stack Service has two, possibly announced by different nodes).',
      maxItems: 2,
      items: ipAnnouncement,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['ip'],
    },
  },
});

export const serviceAnnouncementCrd = crd(
  'ServiceAnnouncement',
  'Namespaced',
  { shortNames: ['svcann'] },
  objectSchema(
    'ServiceAnnouncement',
    'Which node announces the addresses of a LoadBalancer Service: one per announced Service, named like it, written only by the announcing speakers.',
    { status: serviceAnnouncementStatus },
    [],
  ),
  [
    // A column shows the first match of its JSONPath only ([*] does not list them all),
    // so the second address of a dual-stack Service has its own (wide) columns.
    { name: 'IP', type: 'string', jsonPath: '.status.announcements[0].ip' },
    { name: 'Node', type: 'string', jsonPath: '.status.announcements[0].node' },
    { name: 'Since', type: 'date', jsonPath: '.status.announcements[0].since' },
    { name: 'IP 2', type: 'string', jsonPath: '.status.announcements[1].ip', priority: 1 },
    { name: 'Node 2', type: 'string', jsonPath: '.status.announcements[1].node', priority: 1 },
    { name: 'Since 2', type: 'date', jsonPath: '.status.announcements[1].since', priority: 1 },
    AGE,
  ],
);

/** Every meshlb CRD, in install order. */
export const CRDS: readonly CustomResourceDefinition[] = [
  ipPoolCrd,
  l2AdvertisementCrd,
  serviceAnnouncementCrd,
];
