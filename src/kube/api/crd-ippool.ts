/** The IPPool CRD: a pool of addresses the controller assigns to LoadBalancer Services. */
import { ADDRESS_RULES } from './cel.ts';
import { AGE, crd, objectSchema } from './crd-envelope.ts';
import { conditions, selectorList } from './crd-fields.ts';
import { named } from './schema.ts';

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
