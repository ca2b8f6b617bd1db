// Namespace defaults: which class and storage class a VM or disk gets when it names none.
// Precedence (first wins): the object itself; a VirtualMachinePolicy whose match selects the
// namespace and sets spec.defaults (policies by name order); the namespace annotations
// vmplane.io/default-class and vmplane.io/default-storage-class. Policies come first because
// they are how a platform team governs many namespaces at once; the annotation is for a single
// namespace with no policy.
import type { Lookups } from '../../kube/src/lookups.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import { Annotations } from '../../api/src/wellknown.ts';

export interface NamespaceDefault {
  value: string;
  /** Where it came from, for messages: `VirtualMachinePolicy "x"` or `namespace annotation ...`. */
  from: string;
  policy?: string;
}

export interface NamespaceDefaults {
  className?: NamespaceDefault;
  storageClassName?: NamespaceDefault;
}

export function namespaceDefaults(namespace: string, lookups: Lookups): NamespaceDefaults {
  const ns = lookups.namespace(namespace);
  const labels = ns?.metadata?.labels ?? {};
  const out: NamespaceDefaults = {};
  const policies = [...lookups.policies()].sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  for (const p of policies) {
    const d = p.spec.defaults;
    if (
      !d ||
      !matchesSelector(p.spec.match?.namespaceSelector as LabelSelector | undefined, labels)
    )
      continue;
    const name = p.metadata.name ?? '';
    if (d.className && !out.className)
      out.className = { value: d.className, from: `VirtualMachinePolicy "${name}"`, policy: name };
    if (d.storageClassName && !out.storageClassName) {
      out.storageClassName = {
        value: d.storageClassName,
        from: `VirtualMachinePolicy "${name}"`,
        policy: name,
      };
    }
  }
  const ann = ns?.metadata?.annotations ?? {};
  const annotatedClass = ann[Annotations.namespaceDefaultClass];
  if (!out.className && annotatedClass) {
    out.className = {
      value: annotatedClass,
      from: `namespace annotation ${Annotations.namespaceDefaultClass}`,
    };
  }
  const annotatedStorage = ann[Annotations.namespaceDefaultStorageClass];
  if (!out.storageClassName && annotatedStorage) {
    out.storageClassName = {
      value: annotatedStorage,
      from: `namespace annotation ${Annotations.namespaceDefaultStorageClass}`,
    };
  }
  return out;
}
