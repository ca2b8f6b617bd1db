import type { CelRule, Schema } from './schema.ts';

export const GROUP = 'vmplane.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** `kubectl get vmplane` lists every kind in this category. */
export const CATEGORY = 'vmplane';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`; 1 only with `-o wide`. */
  priority?: number;
}

/** Everything the generator needs to know about one kind. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  /** What the kind is for; becomes the description `kubectl explain KIND` prints. */
  description: string;
  /** Another API group's kind that vmplane installs when absent (e.g. wgpolicyk8s.io PolicyReport). */
  group?: string;
  version?: string;
  categories?: string[];
  /** The desired state. Kinds without one (reports) list their top-level fields in rootFields. */
  spec?: Schema;
  rootFields?: Record<string, Schema>;
  status?: Schema;
  /** Rules on the whole object (they can see metadata, spec and status). */
  rules?: CelRule[];
  printerColumns: PrinterColumn[];
}

/** The metadata, spec and status envelope every kind shares. */
export function apiVersionOf(def: KindDefinition): string {
  return `${def.group ?? GROUP}/${def.version ?? VERSION}`;
}

export function objectSchema(def: KindDefinition): Schema {
  const properties: Record<string, Schema> = {
    apiVersion: {
      type: 'string',
      description: `The versioned schema of this representation of an object; ${apiVersionOf(def)} for this kind.`,
    },
    kind: {
      type: 'string',
      description: `The REST resource this object represents; ${def.kind} here.`,
    },
    metadata: {
      type: 'object',
      description: 'Standard object metadata: name, namespace, labels, annotations.',
    },
    ...(def.spec ? { spec: def.spec } : {}),
    ...def.rootFields,
  };
  if (def.status) properties.status = def.status;
  const s: Schema = {
    type: 'object',
    description: def.description,
    properties,
    ...(def.spec ? { required: ['spec'] } : {}),
  };
  if (def.rules?.length) s['x-kubernetes-validations'] = def.rules;
  return s;
}
