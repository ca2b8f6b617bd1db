// The create wizard's decisions: its steps, what each step needs before Next, which classes a
// namespace may use, and the VirtualMachine it submits. Pure functions.
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { matchesSelector } from '../../../api/src/selectors.ts';
import { isPositiveQuantity } from './format.ts';
import { wizardInterfaces } from './networks.ts';

export const STEPS = ['namespace', 'class', 'image', 'disks', 'cloudInit', 'review'] as const;
export type Step = (typeof STEPS)[number];

export interface WizardDisk {
  name: string;
  size: string;
  storageClassName: string;
}

export interface WizardState {
  namespace: string;
  name: string;
  className: string;
  image: { kind: 'VirtualMachineImage' | 'ClusterVirtualMachineImage'; name: string } | null;
  bootDiskSize: string;
  disks: WizardDisk[];
  cloudInit: string;
  startAfterCreate: boolean;
  /** A Network for a second interface, beside the pod network; empty: the pod network only. */
  network: string;
}

export function initialState(namespace = ''): WizardState {
  return {
    namespace,
    name: '',
    className: '',
    image: null,
    bootDiskSize: '',
    disks: [],
    cloudInit: '',
    startAfterCreate: true,
    network: '',
  };
}

/** Field -> what is wrong with it; empty when the step may be left. */
export type StepErrors = Record<string, string>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RESERVED_DISK_NAMES = ['boot', 'cloudinit'];

export function validateStep(step: Step, s: WizardState): StepErrors {
  const e: StepErrors = {};
  switch (step) {
    case 'namespace':
      if (!s.namespace) e.namespace = 'Choose a namespace.';
      if (!s.name) e.name = 'Give the VM a name.';
      else if (s.name.length > 63 || !DNS_LABEL.test(s.name))
        e.name = `"${s.name}" is not a valid name: use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit.`;
      break;
    case 'class':
      if (!s.className) e.className = 'Choose a class.';
      break;
    case 'image':
      if (!s.image) e.image = 'Choose an image to boot from.';
      if (s.bootDiskSize && !isPositiveQuantity(s.bootDiskSize))
        e.bootDiskSize = `"${s.bootDiskSize}" is not a size; use a quantity such as 20Gi.`;
      break;
    case 'disks': {
      const seen = new Set<string>();
      s.disks.forEach((d, i) => {
        if (!d.name || !DNS_LABEL.test(d.name))
          e[
            `disks.${i}.name`
          ] = `"${d.name}" is not a valid disk name: lower-case letters, digits and "-".`;
        else if (RESERVED_DISK_NAMES.includes(d.name))
          e[`disks.${i}.name`] = `"${d.name}" is reserved; choose another name.`;
        else if (seen.has(d.name)) e[`disks.${i}.name`] = `"${d.name}" is used by another disk.`;
        seen.add(d.name);
        if (!isPositiveQuantity(d.size))
          e[`disks.${i}.size`] = `"${d.size}" is not a size; use a quantity such as 50Gi.`;
      });
      if (s.disks.length > 31) e.disks = 'A VM has at most 32 disks, the boot disk included.';
      break;
    }
    case 'cloudInit':
      if (
        s.cloudInit.trim() &&
        !s.cloudInit.trimStart().startsWith('#cloud-config') &&
        !s.cloudInit.trimStart().startsWith('#!')
      )
        e.cloudInit = 'cloud-init user data starts with "#cloud-config" (or "#!" for a script).';
      if (new TextEncoder().encode(s.cloudInit).length > 32 * 1024)
        e.cloudInit = 'cloud-init user data is limited to 32 KiB.';
      break;
    case 'review':
      for (const step of STEPS.slice(0, -1)) Object.assign(e, validateStep(step, s));
      break;
  }
  return e;
}

/** The first step with an error, for "go back and fix". */
export function firstInvalidStep(s: WizardState): Step | undefined {
  return STEPS.slice(0, -1).find(step => Object.keys(validateStep(step, s)).length > 0);
}

/** Classes a VM in this namespace may use (their namespaceSelector matches the namespace's labels). */
export function classesForNamespace(
  classes: readonly Pick<VirtualMachineClass, 'metadata' | 'spec'>[],
  namespaceLabels: Record<string, string> | undefined
): Pick<VirtualMachineClass, 'metadata' | 'spec'>[] {
  return classes
    .filter(c =>
      matchesSelector(
        c.spec.namespaceSelector as Parameters<typeof matchesSelector>[0],
        namespaceLabels
      )
    )
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

export interface ImageChoice {
  kind: 'VirtualMachineImage' | 'ClusterVirtualMachineImage';
  name: string;
  label: string;
  os: string;
  size: string;
  ready: boolean;
}

/** Images of the namespace first, then the cluster library; each with what a chooser shows. */
export function imageChoices(
  namespaced: readonly Pick<VirtualMachineImage, 'metadata' | 'spec' | 'status'>[],
  cluster: readonly Pick<ClusterVirtualMachineImage, 'metadata' | 'spec' | 'status'>[]
): ImageChoice[] {
  const ready = (st: { conditions?: { type: string; status: string }[] } | undefined) =>
    !st?.conditions?.length || st.conditions.some(c => c.type === 'Ready' && c.status === 'True');
  const one = (
    kind: ImageChoice['kind'],
    i: Pick<VirtualMachineImage, 'metadata' | 'spec' | 'status'>
  ): ImageChoice => ({
    kind,
    name: i.metadata.name ?? '',
    label:
      kind === 'ClusterVirtualMachineImage'
        ? `${i.metadata.name} (cluster library)`
        : `${i.metadata.name}`,
    os: [i.spec.osInfo?.name, i.spec.osInfo?.version].filter(Boolean).join(' ') || '-',
    size: i.spec.size ?? '-',
    ready: ready(i.status),
  });
  const byName = (a: ImageChoice, b: ImageChoice) => a.name.localeCompare(b.name);
  return [
    ...namespaced.map(i => one('VirtualMachineImage', i)).sort(byName),
    ...cluster.map(i => one('ClusterVirtualMachineImage', i)).sort(byName),
  ];
}

/** The VirtualMachine the wizard submits: only what the user chose; webhooks default the rest. */
export function buildVm(s: WizardState): VirtualMachine {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      className: s.className,
      ...(s.image ? { image: { kind: s.image.kind, name: s.image.name } } : {}),
      ...(s.bootDiskSize ? { bootDisk: { size: s.bootDiskSize } } : {}),
      ...(s.disks.length
        ? {
            disks: s.disks.map(d => ({
              name: d.name,
              size: d.size,
              ...(d.storageClassName ? { storageClassName: d.storageClassName } : {}),
            })),
          }
        : {}),
      ...(s.cloudInit.trim() ? { bootstrap: { cloudInit: { userData: s.cloudInit } } } : {}),
      ...(s.network ? { network: { interfaces: wizardInterfaces(s.network) } } : {}),
      powerState: s.startAfterCreate ? 'PoweredOn' : 'PoweredOff',
    },
  };
}
