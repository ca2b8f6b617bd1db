// The schemas the CEL engine types policy variables with, as the API server publishes them for
// the policy type checker: each kind's CRD schema, with metadata as ObjectMeta (the API server
// adds it; the CRD may not spell it out). Sizes, for the cost estimate, come from these schemas'
// maxItems, maxLength and maxProperties. Kubernetes' own OpenAPI bounds nothing in ObjectMeta, so
// every walk over labels would be sized by what fits in a 3 MB request and refused; here ObjectMeta
// carries the bounds the API server's validation enforces (names 253, namespaces and label values
// 63, label keys 317, annotations 256 KiB in all) and, where it enforces none (how many labels,
// annotations, finalizers, owners), METADATA_ENTRIES. An object with more still runs within the
// runtime cost and time budgets; the estimate only refuses what would be too costly even so.
import { schemas } from '../../api/generated/schemas/index.ts';
import type { CelSchemas } from './kcel.ts';

/** The entries the estimate assumes in each metadata map and list. */
export const METADATA_ENTRIES = 256;

const string = (maxLength: number): object => ({ type: 'string', maxLength });
const time = { type: 'string', format: 'date-time' };
const map = (key: number, value: number): object => ({
  type: 'object',
  maxProperties: METADATA_ENTRIES,
  propertyNames: { maxLength: key },
  additionalProperties: string(value),
});

/** ObjectMeta's fields a policy reads (managedFields left out). */
export const OBJECT_META = {
  type: 'object',
  properties: {
    name: string(253),
    generateName: string(253),
    namespace: string(63),
    uid: string(36),
    resourceVersion: string(64),
    generation: { type: 'integer', format: 'int64' },
    creationTimestamp: time,
    deletionTimestamp: time,
    deletionGracePeriodSeconds: { type: 'integer', format: 'int64' },
    labels: map(317, 63),
    annotations: map(317, 256 * 1024),
    finalizers: {
      type: 'array',
      maxItems: METADATA_ENTRIES,
      items: string(317),
      'x-kubernetes-list-type': 'set',
    },
    ownerReferences: {
      type: 'array',
      maxItems: METADATA_ENTRIES,
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: {
          apiVersion: string(317),
          kind: string(63),
          name: string(253),
          uid: string(36),
          controller: { type: 'boolean' },
          blockOwnerDeletion: { type: 'boolean' },
        },
      },
    },
  },
};

function withObjectMeta(kind: string): object {
  const s = schemas[kind] as { properties?: Record<string, unknown> };
  const { $schema: _s, $id: _i, $comment: _c, ...rest } = s as Record<string, unknown>;
  return { ...rest, properties: { ...s.properties, metadata: OBJECT_META } };
}

/** object and oldObject are VirtualMachines; image is either image kind (their specs are one). */
export function celSchemas(): CelSchemas {
  return {
    object: withObjectMeta('VirtualMachine'),
    vmClass: withObjectMeta('VirtualMachineClass'),
    image: withObjectMeta('VirtualMachineImage'),
  };
}
