// What the cluster's KubeVirt says, as decisions: whether it runs (its KubeVirt CR, not merely its
// CRDs), whether its version is one vmplane is checked with, and whether it lets VMs have a
// class's devices (feature gates and permittedHostDevices). Pure; the controllers read the CRs.
import type { VirtualMachineClass } from '../../api/generated/types.ts';
import { Reasons } from '../../api/src/wellknown.ts';
import type { Check } from './check.ts';

/** The KubeVirt minor releases vmplane's translation is checked against (docs/kubevirt.md: supported versions). */
export const SUPPORTED_KUBEVIRT = { major: 1, minors: [7] } as const;
export const SUPPORTED_KUBEVIRT_TEXT = 'v1.7';

/** The parts of a KubeVirt CR (kubevirt.io/v1 KubeVirt) these decisions read. */
export interface KubeVirtCr {
  metadata?: {
    name?: string;
    namespace?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
  };
  spec?: {
    configuration?: {
      developerConfiguration?: { featureGates?: string[] };
      permittedHostDevices?: {
        pciHostDevices?: { resourceName?: string }[];
        mediatedDevices?: { resourceName?: string }[];
        usb?: { resourceName?: string }[];
      };
    };
  };
  status?: { phase?: string; observedKubeVirtVersion?: string };
}

/** The label vmplane's local engine puts on the KubeVirt CR it makes (engine/src/api-server.ts). */
export const LOCAL_ENGINE_LABEL = { 'app.kubernetes.io/managed-by': 'vmplane-local-engine' };

/** Whether the CR is the one vmplane's local engine made (what runs VMs is not KubeVirt). */
export function isLocalEngine(kv: KubeVirtCr | undefined): boolean {
  return (
    kv?.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
    LOCAL_ENGINE_LABEL['app.kubernetes.io/managed-by']
  );
}

const where = (kv: KubeVirtCr): string =>
  `${kv.metadata?.namespace ?? ''}/${kv.metadata?.name ?? ''}`;

/** Whether a KubeVirt version (v1.7.0, 1.7.2-rc.1) is one vmplane is checked with. */
export function isSupportedKubeVirt(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)\./.exec(version ?? '');
  if (!m) return false;
  return (
    Number(m[1]) === SUPPORTED_KUBEVIRT.major &&
    (SUPPORTED_KUBEVIRT.minors as readonly number[]).includes(Number(m[2]))
  );
}

/** The KubeVirt installation VMs go to: the first deployed CR, else the first there is. */
export function activeKubeVirt(crs: readonly KubeVirtCr[]): KubeVirtCr | undefined {
  const live = crs.filter((c) => !c.metadata?.deletionTimestamp);
  return live.find((c) => c.status?.phase === 'Deployed') ?? live[0];
}

/**
 * Whether KubeVirt runs, judged by the engine: its CRDs, then a KubeVirt CR that virt-operator
 * has Deployed. A version outside the supported line is said, not refused.
 */
export function engineCheck(crdsInstalled: boolean, crs: readonly KubeVirtCr[]): Check {
  if (!crdsInstalled)
    return {
      ok: false,
      reason: Reasons.KubeVirtNotInstalled,
      message:
        'KubeVirt is not installed in this cluster (no kubevirt.io/v1 VirtualMachine API): install KubeVirt; vmplane hands this VM over as soon as it is there',
    };
  const kv = activeKubeVirt(crs);
  if (!kv)
    return {
      ok: false,
      reason: Reasons.KubeVirtNotDeployed,
      message:
        "KubeVirt's CRDs are installed but no KubeVirt CR is, so nothing runs VMs (no virt-api, virt-controller or virt-handler): create the KubeVirt CR (kubectl get kubevirt -A shows none); vmplane hands this VM over once it is Deployed",
    };
  const phase = kv.status?.phase;
  if (phase !== 'Deployed')
    return {
      ok: false,
      reason: Reasons.KubeVirtNotReady,
      message: `KubeVirt ${where(kv)} is ${phase ? `in phase ${phase}` : 'not reporting a phase yet'}, not Deployed: vmplane hands this VM over once it is (kubectl get kubevirt -A)`,
    };
  const version = kv.status?.observedKubeVirtVersion;
  const outside = isSupportedKubeVirt(version)
    ? ''
    : `; vmplane is checked with KubeVirt ${SUPPORTED_KUBEVIRT_TEXT}, so what it writes may be refused or behave differently here`;
  return {
    ok: true,
    reason: Reasons.KubeVirtDeployed,
    message: isLocalEngine(kv)
      ? `vmplane's local engine runs VMs here (${where(kv)}): it plays KubeVirt ${version ?? '(version not reported)'}'s API under QEMU on one machine and serves part of it (docs/kubevirt.md, the local engine)`
      : `KubeVirt ${version ?? '(version not reported)'} is deployed (${where(kv)})${outside}`,
  };
}

type Devices = NonNullable<VirtualMachineClass['spec']['hardware']['devices']>;

/**
 * Whether the KubeVirt CR lets VMs have these devices: host devices need the HostDevices feature
 * gate (KubeVirt's admission refuses them otherwise), and every GPU and host device must be listed
 * in permittedHostDevices (otherwise no node offers it, and the VM never schedules).
 */
export function devicesCheck(devices: Devices | undefined, kv: KubeVirtCr | undefined): Check {
  const gpus = devices?.gpus ?? [];
  const hostDevices = devices?.hostDevices ?? [];
  if (!gpus.length && !hostDevices.length)
    return {
      ok: true,
      reason: Reasons.DevicesPermitted,
      message: 'the class has no GPUs or host devices',
    };
  if (!kv || kv.status?.phase !== 'Deployed')
    return {
      ok: false,
      reason: Reasons.EngineUnknown,
      message: 'no KubeVirt is deployed to ask whether it permits the GPUs and host devices',
    };
  const problems = deviceProblems(gpus, hostDevices, kv);
  return problems.length
    ? {
        ok: false,
        reason: Reasons.DevicesNotPermitted,
        message: `KubeVirt does not permit this class's devices: ${problems.join('; ')}`,
      }
    : {
        ok: true,
        reason: Reasons.DevicesPermitted,
        message: `KubeVirt ${where(kv)} permits every GPU and host device of the class`,
      };
}

/** What keeps the KubeVirt CR from permitting the devices: the gate, and devices not listed. */
function deviceProblems(
  gpus: { deviceName: string }[],
  hostDevices: { deviceName: string }[],
  kv: KubeVirtCr,
): string[] {
  const config = kv.spec?.configuration;
  const problems: string[] = [];
  const gates = config?.developerConfiguration?.featureGates ?? [];
  if (hostDevices.length && !gates.includes('HostDevices'))
    problems.push(
      `the HostDevices feature gate is off (add it to spec.configuration.developerConfiguration.featureGates of KubeVirt ${where(kv)})`,
    );
  const p = config?.permittedHostDevices;
  const permitted = new Set(
    [...(p?.pciHostDevices ?? []), ...(p?.mediatedDevices ?? []), ...(p?.usb ?? [])].map(
      (d) => d.resourceName,
    ),
  );
  const missing = [...new Set([...gpus, ...hostDevices].map((d) => d.deviceName))].filter(
    (n) => !permitted.has(n),
  );
  const one = missing.length === 1;
  if (missing.length)
    problems.push(
      `${missing.join(', ')} ${one ? 'is' : 'are'} not in spec.configuration.permittedHostDevices of KubeVirt ${where(kv)}, so no node offers ${one ? 'it' : 'them'} to VMs`,
    );
  return problems;
}
