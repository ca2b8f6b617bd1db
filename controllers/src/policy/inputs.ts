// What the audit's results depend on, as one fingerprint: the spec (generation), labels and
// annotations of VMs, policies, exceptions, classes, images, disks and namespaces. A write that
// changes only an object's status (the audit's own policy status, the controllers' VM status)
// leaves it unchanged, so the audit does not scan again because of its own writes.
import { createHash } from 'node:crypto';
import type { Lookups } from '../../../kube/src/lookups.ts';

interface Meta {
  metadata?: {
    uid?: string;
    name?: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/** One object's part: what identifies it, its spec's generation (or version), labels, annotations. */
function part(kind: string, o: Meta): string {
  const m = o.metadata ?? {};
  const version = m.generation ?? m.resourceVersion ?? '';
  return `${kind}|${m.namespace ?? ''}|${m.name ?? ''}|${m.uid ?? ''}|${version}|${JSON.stringify(m.labels ?? {})}|${JSON.stringify(m.annotations ?? {})}`;
}

export function auditInputs(lookups: Lookups): string {
  const parts: string[] = [];
  const add = (kind: string, list: readonly Meta[]): void => {
    for (const o of list) parts.push(part(kind, o));
  };
  add('vm', lookups.vms());
  add('policy', lookups.policies());
  add('exception', lookups.exceptions());
  add('class', lookups.classes());
  add('clusterimage', lookups.clusterImages());
  add('disk', lookups.disks());
  const namespaces = new Set(lookups.vms().map((v) => v.metadata.namespace ?? ''));
  for (const ns of namespaces) {
    add('image', lookups.namespacedImages(ns));
    const n = lookups.namespace(ns);
    if (n) add('namespace', [n as Meta]);
  }
  parts.sort();
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}
