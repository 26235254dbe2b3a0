/** The L2Advertisement CRD: which pools are announced, from which nodes, on which interfaces. */
import { L2ADVERTISEMENT_SPEC_RULES } from './cel.ts';
import { AGE, crd, objectSchema } from './crd-envelope.ts';
import { conditions, interfaceList, selectorList } from './crd-fields.ts';
import { named } from './schema.ts';

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
