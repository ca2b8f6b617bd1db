// Instance types and preferences, as virt-controller applies them when it makes an instance
// (KubeVirt v1.7.0 pkg/instancetype: controller/vm Sync for the lookup, apply/cpu.go and
// apply/memory.go for what goes into the instance, annotations for what marks it). Pure, except
// the lookup the engine does.
import type { VmiSpec } from './engine-context.ts';

export interface InstancetypeRef {
  name: string;
  kind?: string;
}

/** The parts of an instance type's spec the engine applies. */
export interface InstancetypeSpec {
  cpu?: { guest?: number };
  memory?: { guest?: string };
  annotations?: Record<string, string>;
}

/** A preference's CPU topology choice (sockets by default in v1.7). */
export interface PreferenceSpec {
  cpu?: { preferredCPUTopology?: 'sockets' | 'cores' | 'threads' | 'spread' | 'any' };
}

/** Where an instance type or preference lives, and the not-found text the API server gives. */
export function lookupPath(
  ref: InstancetypeRef,
  namespace: string,
  what: 'instancetype' | 'preference',
): { path: string; notFound: string } {
  const cluster = !ref.kind || ref.kind.toLowerCase().startsWith('virtualmachinecluster');
  const plural = cluster
    ? `virtualmachinecluster${what}s`
    : `virtualmachine${what === 'instancetype' ? 'instancetypes' : 'preferences'}`;
  const base = '/apis/instancetype.kubevirt.io/v1beta1';
  return {
    path: cluster
      ? `${base}/${plural}/${ref.name}`
      : `${base}/namespaces/${namespace}/${plural}/${ref.name}`,
    notFound: `${plural}.instancetype.kubevirt.io "${ref.name}" not found`,
  };
}

/** The topology for `vcpus` by the preference (pkg/instancetype/preference/apply/cpu.go). */
export function topology(
  vcpus: number,
  preferred: NonNullable<PreferenceSpec['cpu']>['preferredCPUTopology'],
): { sockets: number; cores: number; threads: number } {
  switch (preferred) {
    case 'cores':
      return { sockets: 1, cores: vcpus, threads: 1 };
    case 'threads':
      return { sockets: 1, cores: 1, threads: vcpus };
    case 'spread': {
      // Spread across sockets and cores at KubeVirt's default ratio of 2 cores per socket.
      const cores = vcpus % 2 === 0 ? 2 : 1;
      return { sockets: vcpus / cores, cores, threads: 1 };
    }
    default:
      return { sockets: vcpus, cores: 1, threads: 1 };
  }
}

/**
 * The instance spec with the instance type applied: its vCPUs as the preferred topology, its
 * guest memory, and its annotations; the fields the template already sets conflict (KubeVirt's
 * admission refuses those VMs; the engine refuses them too, naming the fields).
 */
export function applyInstancetype(
  spec: VmiSpec,
  it: InstancetypeSpec,
  pref: PreferenceSpec | undefined,
): { ok: true; spec: VmiSpec } | { ok: false; message: string } {
  const domain = spec.domain ?? {};
  const conflicts = [
    ...(it.cpu?.guest && domain.cpu ? ['spec.template.spec.domain.cpu'] : []),
    ...(it.memory?.guest && domain.memory?.guest ? ['spec.template.spec.domain.memory.guest'] : []),
  ];
  if (conflicts.length)
    return {
      ok: false,
      message: `VMI conflicts with instancetype spec in fields: [${conflicts.join(', ')}]`,
    };
  return {
    ok: true,
    spec: {
      ...spec,
      domain: {
        ...domain,
        ...(it.cpu?.guest ? { cpu: topology(it.cpu.guest, pref?.cpu?.preferredCPUTopology) } : {}),
        ...(it.memory?.guest ? { memory: { ...domain.memory, guest: it.memory.guest } } : {}),
      },
    },
  };
}

/** The annotations virt-controller puts on the instance for its instance type and preference. */
export function instancetypeAnnotations(
  it: InstancetypeRef | undefined,
  pref: InstancetypeRef | undefined,
): Record<string, string> {
  const cluster = (r: InstancetypeRef): boolean =>
    !r.kind || r.kind.toLowerCase().startsWith('virtualmachinecluster');
  return {
    ...(it
      ? {
          [cluster(it) ? 'kubevirt.io/cluster-instancetype-name' : 'kubevirt.io/instancetype-name']:
            it.name,
        }
      : {}),
    ...(pref
      ? {
          [cluster(pref) ? 'kubevirt.io/cluster-preference-name' : 'kubevirt.io/preference-name']:
            pref.name,
        }
      : {}),
  };
}
