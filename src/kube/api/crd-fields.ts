/**
 * The field schemas several meshlb kinds share: label selectors, conditions and
 * interface names (named ones are emitted once in the generated types).
 */
import { INTERFACE_RULES, SELECTOR_REQUIREMENT_RULES } from './cel.ts';
import { named, type Schema } from './schema.ts';

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

export const selectorList = (description: string): Schema => ({
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

export const conditions: Schema = {
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
export const interfaceList = (description: string, listType: 'set' | 'atomic' = 'set'): Schema => ({
  type: 'array',
  description,
  maxItems: 32,
  items: interfaceName,
  'x-kubernetes-list-type': listType,
});
