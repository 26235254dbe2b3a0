/**
 * The JSON shapes of a CustomResourceDefinition as the API server takes them (raw JSON
 * keys such as `x-kubernetes-validations`, unlike @kubernetes/client-node's camelCase
 * model classes), restricted to what meshlb's definitions use. scripts/gen-crds.ts
 * turns these into deploy/crds/*.yaml and types.generated.ts.
 */

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueDuplicate';
  fieldPath?: string;
}

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  description?: string;
  format?: 'int32' | 'int64' | 'date-time';
  enum?: readonly string[];
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  properties?: Readonly<Record<string, Schema>>;
  required?: readonly string[];
  additionalProperties?: Schema;
  items?: Schema;
  'x-kubernetes-validations'?: readonly ValidationRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; annotations?: Readonly<Record<string, string>> };
  spec: {
    group: string;
    scope: 'Cluster' | 'Namespaced';
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: readonly string[];
      categories?: readonly string[];
    };
    versions: readonly {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Schema };
      subresources?: { status?: Record<string, never> };
      additionalPrinterColumns?: readonly PrinterColumn[];
    }[];
  };
}

const typeNames = new WeakMap<Schema, string>();

/** Names an object schema: the generator emits it once as `export interface <name>` and refers to it by name. */
export function named<S extends Schema>(name: string, schema: S): S {
  typeNames.set(schema, name);
  return schema;
}

/** The TypeScript name given to a schema by `named`, if any. */
export function typeNameOf(schema: Schema): string | undefined {
  return typeNames.get(schema);
}
