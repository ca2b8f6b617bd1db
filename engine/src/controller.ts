// The local engine's controller: plays virt-controller and virt-handler for one machine. It
// watches kubevirt.io/v1 VirtualMachines, makes and deletes their VirtualMachineInstances by
// runStrategy, runs one QEMU process per running instance, and writes VM and VMI status the way
// KubeVirt does (the VMI through its main resource: the real CRD has no status subresource).
// First layer: every VM boots the tiny Linux image; disks, networks and cloud-init come next.
import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseQuantity } from '../../api/src/quantity.ts';
import type { ControllerDefinition, Manager } from '../../kube/src/manager.ts';
import type { ResilientInformer } from '../../kube/src/informer.ts';
import { objectKey, splitKey } from '../../kube/src/manager.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import {
  decide,
  guestMemory,
  printableStatus,
  type InstanceView,
  type RunStrategy,
} from './decide.ts';
import { powerOff, startQemu, type Qmp, type Serial } from './qemu.ts';
import type { TinyLinux } from './tiny-linux.ts';
import type { ChildProcess } from 'node:child_process';

const VMS = '/apis/kubevirt.io/v1/virtualmachines';
const VMIS = '/apis/kubevirt.io/v1/virtualmachineinstances';

interface KvVm extends KubernetesObject {
  spec: {
    runStrategy?: RunStrategy;
    running?: boolean;
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: {
        domain?: { memory?: { guest?: string }; cpu?: { cores?: number } };
        terminationGracePeriodSeconds?: number;
      } & Record<string, unknown>;
    };
  };
  status?: Record<string, unknown>;
}

interface KvVmi extends KubernetesObject {
  status?: { phase?: InstanceView['phase']; nodeName?: string };
}

export interface Running {
  child: ChildProcess;
  qmp: Qmp;
  serial: Serial;
  dir: string;
}

export interface LocalEngineOptions {
  /** Folder for the VMs' folders (sockets, disks). */
  stateDir: string;
  image: TinyLinux;
  /** Guest RAM is capped at this (the sandbox keeps VMs small). */
  memoryCapBytes?: number;
  /** Memory this machine can give VMs now (os.freemem by default). */
  availableBytes: () => number;
  /** The longest ACPI grace before a hard stop (KubeVirt's default is 180 s). */
  maxGraceMs?: number;
  qemu?: string;
}

export interface LocalEngine {
  definition: ControllerDefinition;
  /** The running VMs, by namespace/name (for the console and the tests). */
  running: Map<string, Running>;
  /** Stops every VM at once (the engine is going away). */
  stopAll(): Promise<void>;
}

const NODE = hostname();

function runStrategyOf(vm: KvVm): RunStrategy {
  if (vm.spec.runStrategy) return vm.spec.runStrategy;
  return vm.spec.running ? 'Always' : 'Halted';
}

interface Ctx {
  m: Manager;
  o: LocalEngineOptions;
  vms: ResilientInformer<KvVm>;
  vmis: ResilientInformer<KvVmi>;
  running: Map<string, Running>;
}

const vmiPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
const vmPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
const alive = (r: Running | undefined): boolean =>
  !!r && r.child.exitCode === null && r.child.signalCode === null;

function writeVmi(c: Ctx, ns: string, name: string, status: object): Promise<unknown> {
  return c.m.rest.request('PATCH', vmiPath(ns, name), {
    body: { status },
    contentType: 'application/merge-patch+json',
  });
}

/** What virt-controller does: an instance from the VM's template, owned by the VM. */
async function createInstance(c: Ctx, vm: KvVm, ns: string, name: string): Promise<void> {
  await c.m.rest.request('POST', `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`, {
    body: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name,
        namespace: ns,
        labels: vm.spec.template?.metadata?.labels ?? {},
        ownerReferences: [
          {
            apiVersion: 'kubevirt.io/v1',
            kind: 'VirtualMachine',
            name,
            uid: vm.metadata?.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: vm.spec.template?.spec ?? { domain: { devices: {} } },
      status: { phase: 'Pending' },
    },
  });
}

/** What virt-handler does: the guest's process, then the instance Running on this node. */
async function startProcess(
  c: Ctx,
  vm: KvVm,
  key: string,
  ns: string,
  name: string,
): Promise<void> {
  const asked = vm.spec.template?.spec?.domain?.memory?.guest ?? '128Mi';
  const memory = guestMemory(
    Number(parseQuantity(asked).asInteger()),
    c.o.memoryCapBytes,
    c.o.availableBytes(),
  );
  if (!memory.ok) {
    const ready = {
      type: 'Ready',
      status: 'False',
      reason: 'InsufficientMemory',
      message: memory.message,
    };
    await writeVmi(c, ns, name, {
      phase: 'Failed',
      reason: 'InsufficientMemory',
      conditions: [ready],
    });
    return;
  }
  const dir = join(c.o.stateDir, 'vms', ns, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const vmRun = await startQemu(
    {
      dir,
      memoryMiB: Math.max(64, Math.floor(memory.bytes / 2 ** 20)),
      cpus: vm.spec.template?.spec?.domain?.cpu?.cores ?? 1,
      kernel: c.o.image.kernel,
      initrd: c.o.image.initrd,
      append: 'console=ttyS0 panic=-1',
    },
    c.o.qemu,
  );
  c.running.set(key, { ...vmRun, dir });
  // A guest that stops by itself (poweroff inside it) is a finished instance.
  vmRun.child.once('exit', () => c.m.enqueue('local-engine', key));
  await writeVmi(c, ns, name, {
    phase: 'Running',
    nodeName: NODE,
    conditions: [{ type: 'Ready', status: 'True' }],
  });
}

function forget(c: Ctx, key: string): Running | undefined {
  const r = c.running.get(key);
  if (!r) return undefined;
  r.qmp.close();
  r.serial.close();
  c.running.delete(key);
  rmSync(r.dir, { recursive: true, force: true });
  return r;
}

async function stopProcess(
  c: Ctx,
  vm: KvVm | undefined,
  key: string,
  ns: string,
  name: string,
): Promise<void> {
  const r = c.running.get(key);
  if (!r) return;
  const graceS = vm?.spec.template?.spec?.terminationGracePeriodSeconds ?? 180;
  const how = await powerOff(r, Math.min(graceS * 1000, c.o.maxGraceMs ?? 30_000));
  forget(c, key);
  c.m.log.info({ vm: key, how }, 'local engine: VM powered off');
  await writeVmi(c, ns, name, { phase: 'Succeeded' }).catch((e) => {
    if (!isNotFound(e)) throw e;
  });
}

async function deleteInstance(c: Ctx, ns: string, name: string, vmi: KvVmi): Promise<void> {
  try {
    await c.m.rest.request('DELETE', vmiPath(ns, name), {
      body: { preconditions: { uid: vmi.metadata?.uid } },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

const deletionOf = (o: KubernetesObject | undefined): boolean =>
  !!(o?.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp;

async function writeVmStatus(
  c: Ctx,
  ns: string,
  name: string,
  printable: string,
  created: boolean,
): Promise<void> {
  await c.m.rest
    .request('PATCH', `${vmPath(ns, name)}/status`, {
      body: { status: { printableStatus: printable, ready: printable === 'Running', created } },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

async function reconcile(c: Ctx, key: string): Promise<undefined> {
  const { namespace: ns = '', name } = splitKey(key);
  const vm = c.vms.get(name, ns) as KvVm | undefined;
  const vmi = c.vmis.get(name, ns) as KvVmi | undefined;
  // The guest stopped by itself: its instance is finished.
  if (c.running.has(key) && !alive(c.running.get(key))) {
    forget(c, key);
    if (vmi) await writeVmi(c, ns, name, { phase: 'Succeeded' }).catch(() => undefined);
  }
  const view = {
    runStrategy: vm ? runStrategyOf(vm) : ('Halted' as const),
    deleting: !vm || deletionOf(vm),
    disksReady: true,
  };
  const instance: InstanceView = {
    exists: !!vmi && !deletionOf(vmi),
    process: alive(c.running.get(key)),
    ...(vmi?.status?.phase ? { phase: vmi.status.phase } : {}),
  };
  for (const action of decide(view, instance)) {
    if (action.kind === 'createInstance' && vm) await createInstance(c, vm, ns, name);
    if (action.kind === 'startProcess' && vm) await startProcess(c, vm, key, ns, name);
    if (action.kind === 'stopProcess') await stopProcess(c, vm, key, ns, name);
    if (action.kind === 'deleteInstance' && vmi) await deleteInstance(c, ns, name, vmi);
  }
  if (!vm || view.deleting) return undefined;
  const now = { ...instance, process: alive(c.running.get(key)) };
  await writeVmStatus(c, ns, name, printableStatus(view, now), instance.exists || now.process);
  return undefined;
}

export function localEngine(m: Manager, o: LocalEngineOptions): LocalEngine {
  const c: Ctx = {
    m,
    o,
    vms: m.informer<KvVm>(VMS),
    vmis: m.informer<KvVmi>(VMIS),
    running: new Map<string, Running>(),
  };
  const inScope = (obj: KubernetesObject): string[] => (m.inScope(obj) ? [objectKey(obj)] : []);
  const definition: ControllerDefinition = {
    name: 'local-engine',
    concurrency: 4,
    watches: [
      { path: VMS, keys: inScope },
      { path: VMIS, keys: inScope },
    ],
    allKeys: () => [...new Set([...c.vms.list(), ...c.vmis.list()].flatMap(inScope))],
    reconcile: (key) => reconcile(c, key),
  };
  return {
    definition,
    running: c.running,
    async stopAll() {
      await Promise.all(
        [...c.running.entries()].map(async ([key, r]) => {
          await powerOff(r, 0);
          forget(c, key);
        }),
      );
    },
  };
}
