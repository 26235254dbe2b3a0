/**
 * The envelope of every meshlb CRD: the object schema each kind starts from
 * (apiVersion, kind, metadata), the CustomResourceDefinition around it, and the
 * printer column every kind ends with.
 */
import { API_VERSION, GROUP, PLURALS, VERSION } from './constants.ts';
import { named, type CustomResourceDefinition, type PrinterColumn, type Schema } from './schema.ts';

export const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The envelope every kind shares: apiVersion, kind, metadata, then its own fields. */
export function objectSchema(
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

export function crd(
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
