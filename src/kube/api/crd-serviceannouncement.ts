/** The ServiceAnnouncement CRD: which node announces the addresses of a Service, as the speakers report it. */
import { ANNOUNCED_IP_RULES } from './cel.ts';
import { AGE, crd, objectSchema } from './crd-envelope.ts';
import { interfaceList } from './crd-fields.ts';
import { named } from './schema.ts';

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
