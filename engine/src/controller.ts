/* eslint-disable max-lines -- split in the engine issue (#29), which rewrites most of this file. */
// The local engine's controller: plays virt-controller and virt-handler for one machine. It
// watches kubevirt.io/v1 VirtualMachines, makes and deletes their VirtualMachineInstances by
// runStrategy, runs one QEMU process per running instance, and writes VM and VMI status the way
// KubeVirt does (the VMI through its main resource: the real CRD has no status subresource).
// Every guest boots the tiny Linux kernel directly (KubeVirt's kernel boot); its volumes are
// qcow2 files (see volumes.ts) and its first interface a card on QEMU's isolated user network.
// The operations behind KubeVirt's subresources (pause, restart, start, stop, console, VNC) are
// methods here, called by the subresource API server.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseQuantity } from '../../api/src/quantity.ts';
import type { ControllerDefinition, Manager } from '../../kube/src/manager.ts';
import type { ResilientInformer } from '../../kube/src/informer.ts';
import { objectKey, splitKey } from '../../kube/src/manager.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import { isSubset } from '../../kube/src/objects.ts';
import { getLive } from '../../kube/src/ownership.ts';
import {
  decide,
  guestMemory,
  printableStatus,
  startBackoffMs,
  wantsInstance,
  type InstanceView,
  type RunStrategy,
  type VmView,
} from './decide.ts';
import { createDisk } from './disks.ts';
import { GUEST_NETWORK, powerOff, startQemu, vncSocket, type Qmp, type Serial } from './qemu.ts';
import type { TinyLinux } from './tiny-linux.ts';
import type { ChildProcess } from 'node:child_process';
import {
  claimRequest,
  isObjectName,
  macFor,
  planVolumes,
  type DataVolumeTemplate,
  type DiskFile,
  type LibraryImage,
  type VolumeSpec,
} from './volumes.ts';

const VMS = '/apis/kubevirt.io/v1/virtualmachines';
const VMIS = '/apis/kubevirt.io/v1/virtualmachineinstances';

interface KvVm extends KubernetesObject {
  spec: {
    runStrategy?: RunStrategy;
    running?: boolean;
    dataVolumeTemplates?: DataVolumeTemplate[];
    template?: {
      metadata?: { labels?: Record<string, string> };
      spec?: {
        domain?: {
          memory?: { guest?: string };
          cpu?: { cores?: number; sockets?: number; threads?: number };
          resources?: { requests?: { memory?: string } };
          devices?: { interfaces?: { name: string; macAddress?: string }[] };
        };
        volumes?: VolumeSpec[];
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
  paused: boolean;
  /** The instance's uid: a new instance is a new guest. */
  instanceUid?: string;
}

/** An operation refused, with the HTTP status the subresource API answers. */
export class EngineError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
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
  qemuImg?: string;
  /** The images DataVolumes may start from, by source URL; the tiny Linux is one of them. */
  library?: LibraryImage[];
  /** How often a VM the machine had no memory for is tried again (30 s by default). */
  unschedulableRetryMs?: number;
}

export interface LocalEngine {
  definition: ControllerDefinition;
  /** The running VMs, by namespace/name (for the console and the tests). */
  running: Map<string, Running>;
  /** Stops every VM at once (the engine is going away). */
  stopAll(): Promise<void>;
  /** The guest's serial console (for the console subresource). */
  serial(ns: string, name: string): Serial;
  /** The guest's VNC socket. */
  vnc(ns: string, name: string): string;
  /** The guest's screen as PNG. */
  screenshot(ns: string, name: string): Promise<Buffer>;
  pause(ns: string, name: string): Promise<void>;
  unpause(ns: string, name: string): Promise<void>;
  start(ns: string, name: string): Promise<void>;
  stop(ns: string, name: string, graceSeconds?: number): Promise<void>;
  restart(ns: string, name: string, graceSeconds?: number): Promise<void>;
}

const NODE = hostname();

function runStrategyOf(vm: KvVm): RunStrategy {
  if (vm.spec.runStrategy) return vm.spec.runStrategy;
  return vm.spec.running ? 'Always' : 'Halted';
}

interface EngineContext {
  manager: Manager;
  options: LocalEngineOptions;
  vms: ResilientInformer<KvVm>;
  vmis: ResilientInformer<KvVmi>;
  running: Map<string, Running>;
  /** Failed starts by key, and when the next may be tried (CrashLoopBackOff). */
  failures: Map<string, { count: number; until: number }>;
  /** VMs the machine had no memory for, and when to look again (ErrorUnschedulable). */
  unschedulable: Map<string, number>;
}

/** How often a VM the machine has no room for is tried again, by default. */
const UNSCHEDULABLE_RETRY_MS = 30_000;

const vmiPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
const vmPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
const alive = (r: Running | undefined): boolean =>
  !!r && r.child.exitCode === null && r.child.signalCode === null;
const keyOf = (ns: string, name: string): string => `${ns}/${name}`;

/** Where the VM's files live: its QEMU folder (sockets) goes with each instance, disks stay. */
const instanceDir = (ctx: EngineContext, ns: string, name: string): string =>
  join(ctx.options.stateDir, 'vms', ns, name);
const diskPath = (ctx: EngineContext, ns: string, d: Pick<DiskFile, 'kind' | 'name'>): string =>
  join(ctx.options.stateDir, d.kind === 'claim' ? 'claims' : 'datavolumes', ns, `${d.name}.qcow2`);

function writeVmi(ctx: EngineContext, ns: string, name: string, status: object): Promise<unknown> {
  return ctx.manager.rest.request('PATCH', vmiPath(ns, name), {
    body: { status },
    contentType: 'application/merge-patch+json',
  });
}

/** What virt-controller does: an instance from the VM's template, owned by the VM. */
async function createInstance(
  ctx: EngineContext,
  vm: KvVm,
  ns: string,
  name: string,
): Promise<void> {
  await ctx.manager.rest.request(
    'POST',
    `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`,
    {
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
    },
  );
}

/** The disks the VM's volumes need, made when missing (a DataVolume's file outlives instances). */
async function prepareDisks(
  ctx: EngineContext,
  vm: KvVm,
  ns: string,
): Promise<{ ok: true; disks: DiskFile[] } | { ok: false; reason: string; message: string }> {
  const claims = new Map<string, number | undefined>();
  for (const v of vm.spec.template?.spec?.volumes ?? []) {
    const claim = v.persistentVolumeClaim?.claimName;
    if (!claim) continue;
    const pvc = await getLive<{ spec?: object }>(
      ctx.manager.rest,
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`,
    );
    claims.set(claim, claimRequest(pvc as never));
  }
  const plan = planVolumes(
    vm.spec.template?.spec?.volumes ?? [],
    vm.spec.dataVolumeTemplates ?? [],
    ctx.options.library ?? [],
    (n) => claims.get(n),
  );
  if (!plan.ok) return plan;
  for (const d of plan.disks) {
    const path = diskPath(ctx, ns, d);
    if (existsSync(path)) continue;
    mkdirSync(join(path, '..'), { recursive: true });
    await createDisk({ path, sizeBytes: Math.max(d.sizeBytes, 2 ** 20) }, ctx.options.qemuImg);
  }
  return { ok: true, disks: plan.disks };
}

/** The guest memory the VM gets here, or why it cannot have it. */
function memoryFor(ctx: EngineContext, vm: KvVm): ReturnType<typeof guestMemory> {
  const domain = vm.spec.template?.spec?.domain;
  const asked = domain?.memory?.guest ?? domain?.resources?.requests?.memory ?? '128Mi';
  return guestMemory(
    Number(parseQuantity(asked).asInteger()),
    ctx.options.memoryCapBytes,
    ctx.options.availableBytes(),
  );
}

/** The status virt-handler writes once the guest runs: node, interface, volumes. */
function runningStatus(
  iface: { name: string } | undefined,
  mac: string,
  disks: DiskFile[],
): Record<string, unknown> {
  return {
    phase: 'Running',
    nodeName: NODE,
    conditions: [{ type: 'Ready', status: 'True' }],
    ...(iface
      ? {
          interfaces: [
            {
              name: iface.name,
              mac,
              ipAddress: GUEST_NETWORK.guestIp,
              ipAddresses: [GUEST_NETWORK.guestIp],
              infoSource: 'domain',
            },
          ],
        }
      : {}),
    volumeStatus: disks.map((d) => ({
      name: d.volume,
      target: '',
      size: d.sizeBytes,
      ...(d.kind === 'claim' ? { persistentVolumeClaimInfo: { claimName: d.name } } : {}),
    })),
  };
}

/** What virt-handler does: the guest's process, then the instance Running on this node. */
async function startProcess(
  ctx: EngineContext,
  vm: KvVm,
  vmi: KvVmi | undefined,
  key: string,
  ns: string,
  name: string,
): Promise<void> {
  const memory = memoryFor(ctx, vm);
  if (!memory.ok) return unschedulable(ctx, key, memory.message);
  ctx.unschedulable.delete(key);
  const disks = await prepareDisks(ctx, vm, ns);
  if (!disks.ok) return failInstance(ctx, ns, name, disks.reason, disks.message);
  const dir = instanceDir(ctx, ns, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const domain = vm.spec.template?.spec?.domain;
  const iface = domain?.devices?.interfaces?.[0];
  const mac = iface?.macAddress ?? macFor(vm.metadata?.uid ?? key);
  const cpu = domain?.cpu;
  let vmRun: Awaited<ReturnType<typeof startQemu>>;
  try {
    vmRun = await startQemu(
      {
        dir,
        memoryMiB: Math.max(64, Math.floor(memory.bytes / 2 ** 20)),
        cpus: (cpu?.cores ?? 1) * (cpu?.sockets ?? 1) * (cpu?.threads ?? 1),
        kernel: ctx.options.image.kernel,
        initrd: ctx.options.image.initrd,
        append: 'console=tty0 console=ttyS0 panic=-1',
        disks: disks.disks.map((d) => ({ path: diskPath(ctx, ns, d), format: 'qcow2' as const })),
        ...(iface ? { nic: { mac } } : {}),
        screen: true,
      },
      ctx.options.qemu,
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return failInstance(ctx, ns, name, 'QemuFailed', `QEMU did not start: ${(e as Error).message}`);
  }
  ctx.running.set(key, { ...vmRun, dir, paused: false, instanceUid: vmi?.metadata?.uid });
  ctx.failures.delete(key);
  // A guest that stops by itself (poweroff inside it) is a finished instance.
  vmRun.child.once('exit', () => ctx.manager.enqueue('local-engine', key));
  await writeVmi(ctx, ns, name, runningStatus(iface, mac, disks.disks));
}

/** The instance could not run: Failed, with the reason on its Ready condition; the next start waits. */
async function failInstance(
  ctx: EngineContext,
  ns: string,
  name: string,
  reason: string,
  message: string,
): Promise<void> {
  const key = keyOf(ns, name);
  const count = (ctx.failures.get(key)?.count ?? 0) + 1;
  ctx.failures.set(key, { count, until: Date.now() + startBackoffMs(count) });
  ctx.manager.log.warn({ vm: key, reason, failures: count }, `local engine: ${message}`);
  await writeVmi(ctx, ns, name, {
    phase: 'Failed',
    reason,
    conditions: [{ type: 'Ready', status: 'False', reason, message }],
  });
}

/** No room for the guest now: the instance waits, Pending and unschedulable, as a pod would. */
async function unschedulable(ctx: EngineContext, key: string, message: string): Promise<void> {
  ctx.unschedulable.set(
    key,
    Date.now() + (ctx.options.unschedulableRetryMs ?? UNSCHEDULABLE_RETRY_MS),
  );
  const { namespace: ns = '', name } = splitKey(key);
  await writeVmi(ctx, ns, name, {
    phase: 'Pending',
    conditions: [
      { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message },
      { type: 'Ready', status: 'False', reason: 'Unschedulable', message },
    ],
  });
}

function forget(ctx: EngineContext, key: string): Running | undefined {
  const r = ctx.running.get(key);
  if (!r) return undefined;
  r.qmp.close();
  r.serial.close();
  ctx.running.delete(key);
  rmSync(r.dir, { recursive: true, force: true });
  return r;
}

async function stopProcess(
  ctx: EngineContext,
  vm: KvVm | undefined,
  key: string,
  ns: string,
  name: string,
  graceSeconds?: number,
): Promise<void> {
  const r = ctx.running.get(key);
  if (!r) return;
  const graceS = graceSeconds ?? vm?.spec.template?.spec?.terminationGracePeriodSeconds ?? 180;
  // A paused guest cannot hear the power button: it is resumed first.
  if (r.paused && graceS > 0) await r.qmp.execute('cont').catch(() => undefined);
  const how = await powerOff(r, Math.min(graceS * 1000, ctx.options.maxGraceMs ?? 30_000));
  forget(ctx, key);
  ctx.manager.log.info({ vm: key, how }, 'local engine: VM powered off');
  await writeVmi(ctx, ns, name, { phase: 'Succeeded' }).catch((e) => {
    if (!isNotFound(e)) throw e;
  });
}

async function deleteInstance(
  ctx: EngineContext,
  ns: string,
  name: string,
  vmi: KvVmi,
): Promise<void> {
  try {
    await ctx.manager.rest.request('DELETE', vmiPath(ns, name), {
      body: { preconditions: { uid: vmi.metadata?.uid } },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** A deleted VM's DataVolume files go with it (KubeVirt deletes the DataVolumes it made). */
function removeDataVolumes(ctx: EngineContext, ns: string, vm: KvVm | undefined): void {
  for (const t of vm?.spec.dataVolumeTemplates ?? []) {
    if (t.metadata?.name && isObjectName(t.metadata.name))
      rmSync(diskPath(ctx, ns, { kind: 'dataVolume', name: t.metadata.name }), { force: true });
  }
}

/** KubeVirt's own finalizer on VMs it runs: the VM stays until its guest and disks are gone. */
export const VM_FINALIZER = 'kubevirt.io/virtualMachineControllerFinalize';

async function setFinalizer(
  ctx: EngineContext,
  vm: KvVm,
  ns: string,
  name: string,
  present: boolean,
): Promise<void> {
  const list = vm.metadata?.finalizers ?? [];
  if (list.includes(VM_FINALIZER) === present) return;
  const next = present ? [...list, VM_FINALIZER] : list.filter((f) => f !== VM_FINALIZER);
  // Guarded by the resourceVersion: another writer's finalizers are never lost.
  await ctx.manager.rest
    .request('PATCH', vmPath(ns, name), {
      body: {
        metadata: { finalizers: next, resourceVersion: vm.metadata?.resourceVersion },
      },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      ctx.manager.enqueue('local-engine', keyOf(ns, name));
    });
}

const deletionOf = (o: KubernetesObject | undefined): boolean =>
  !!(o?.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp;

/** The VM's status as KubeVirt writes it (what this engine knows of it). */
function vmStatusOf(
  printable: string,
  created: boolean,
  diskError: { reason: string; message: string } | undefined,
): Record<string, unknown> {
  const ready = printable === 'Running';
  return {
    printableStatus: printable,
    ready,
    created,
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False' },
      ...(printable === 'Paused'
        ? [{ type: 'Paused', status: 'True', reason: 'PausedByUser' }]
        : []),
      diskError
        ? { type: 'DataVolumesReady', status: 'False', ...diskError }
        : { type: 'DataVolumesReady', status: 'True', reason: 'AllDVsReady' },
    ],
  };
}

/** Writes the VM's status when it changed: an idle VM costs no write. */
async function writeVmStatus(
  ctx: EngineContext,
  vm: KvVm,
  status: Record<string, unknown>,
): Promise<void> {
  if (isSubset(status, vm.status ?? {})) return;
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  await ctx.manager.rest
    .request('PATCH', `${vmPath(ns, name)}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** A guest that stopped by itself, or whose instance was replaced, is finished. */
async function reapFinished(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
): Promise<void> {
  const r = ctx.running.get(key);
  if (!r) return;
  const replaced = !!vmi && !!r.instanceUid && vmi.metadata?.uid !== r.instanceUid;
  if (alive(r) && !replaced) return;
  if (alive(r)) await powerOff(r, 0);
  forget(ctx, key);
  const { namespace: ns = '', name } = splitKey(key);
  if (vmi && !replaced)
    await writeVmi(ctx, ns, name, { phase: 'Succeeded' }).catch(() => undefined);
}

/** A VM being deleted: once its guest is down and its instance gone, its disks go and so may it. */
async function finishDeletion(
  ctx: EngineContext,
  vm: KvVm,
  vmi: KvVmi | undefined,
  key: string,
): Promise<void> {
  if (ctx.running.has(key) || vmi) return;
  const { namespace: ns = '', name } = splitKey(key);
  removeDataVolumes(ctx, ns, vm);
  await setFinalizer(ctx, vm, ns, name, false);
}

/** What the engine knows of the VM for its decisions, and how long a start must wait. */
function viewOf(
  ctx: EngineContext,
  key: string,
  vm: KvVm | undefined,
): { view: VmView; diskError?: { reason: string; message: string }; waitMs: number } {
  const diskError = vm ? diskProblem(ctx, vm, key) : undefined;
  const waitMs = Math.max(
    (ctx.failures.get(key)?.until ?? 0) - Date.now(),
    (ctx.unschedulable.get(key) ?? 0) - Date.now(),
    0,
  );
  const view: VmView = {
    runStrategy: vm ? runStrategyOf(vm) : 'Halted',
    deleting: !vm || deletionOf(vm),
    disksReady: !diskError,
    diskError: !!diskError,
    backoff: waitMs > 0,
    unschedulable: ctx.unschedulable.has(key),
  };
  return { view, ...(diskError ? { diskError } : {}), waitMs };
}

async function reconcile(
  ctx: EngineContext,
  key: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace: ns = '', name } = splitKey(key);
  const vm = ctx.vms.get(name, ns) as KvVm | undefined;
  const vmi = ctx.vmis.get(name, ns) as KvVmi | undefined;
  await reapFinished(ctx, key, vmi);
  const { view, diskError, waitMs } = viewOf(ctx, key, vm);
  const instance: InstanceView = {
    exists: !!vmi && !deletionOf(vmi),
    process: alive(ctx.running.get(key)),
    ...(vmi?.status?.phase ? { phase: vmi.status.phase } : {}),
  };
  for (const action of decide(view, instance)) {
    if (action.kind === 'createInstance' && vm) await createInstance(ctx, vm, ns, name);
    if (action.kind === 'startProcess' && vm) await startProcess(ctx, vm, vmi, key, ns, name);
    if (action.kind === 'stopProcess') await stopProcess(ctx, vm, key, ns, name);
    if (action.kind === 'deleteInstance' && vmi) await deleteInstance(ctx, ns, name, vmi);
  }
  if (!vm || !wantsInstance(view, instance)) {
    ctx.failures.delete(key);
    ctx.unschedulable.delete(key);
  }
  if (!vm) return undefined;
  if (view.deleting)
    return finishDeletion(ctx, vm, ctx.vmis.get(name, ns) as KvVmi | undefined, key).then(
      () => undefined,
    );
  await setFinalizer(ctx, vm, ns, name, true);
  const now = {
    ...instance,
    process: alive(ctx.running.get(key)),
    paused: !!ctx.running.get(key)?.paused,
  };
  const printable = printableStatus(view, now);
  await writeVmStatus(ctx, vm, vmStatusOf(printable, instance.exists || now.process, diskError));
  return waitMs > 0 ? { requeueAfterMs: waitMs } : undefined;
}

/** Whether the VM's volumes can be served here at all (checked before an instance is made). */
function diskProblem(
  ctx: EngineContext,
  vm: KvVm,
  key: string,
): { reason: string; message: string } | undefined {
  const plan = planVolumes(
    vm.spec.template?.spec?.volumes ?? [],
    vm.spec.dataVolumeTemplates ?? [],
    ctx.options.library ?? [],
    () => 0, // claims are looked up when the guest starts
  );
  if (plan.ok) return undefined;
  ctx.manager.log.debug({ vm: key, reason: plan.reason }, plan.message);
  return { reason: plan.reason, message: plan.message };
}

/** The running guest of an instance, or the answer KubeVirt gives when there is none. */
function guest(ctx: EngineContext, ns: string, name: string): Running {
  const r = ctx.running.get(keyOf(ns, name));
  if (!alive(r) || !r)
    throw new EngineError(
      ctx.vmis.get(name, ns) ? 409 : 404,
      ctx.vmis.get(name, ns)
        ? `VirtualMachineInstance ${ns}/${name} is not running`
        : `virtualmachineinstance.kubevirt.io "${name}" not found`,
    );
  return r;
}

function vmOf(ctx: EngineContext, ns: string, name: string): KvVm {
  const vm = ctx.vms.get(name, ns) as KvVm | undefined;
  if (!vm) throw new EngineError(404, `virtualmachine.kubevirt.io "${name}" not found`);
  return vm;
}

async function setRunStrategy(
  ctx: EngineContext,
  ns: string,
  name: string,
  s: RunStrategy,
): Promise<void> {
  await ctx.manager.rest.request('PATCH', vmPath(ns, name), {
    body: { spec: { runStrategy: s, running: null } },
    contentType: 'application/merge-patch+json',
  });
}

async function setPaused(
  ctx: EngineContext,
  ns: string,
  name: string,
  paused: boolean,
): Promise<void> {
  const r = guest(ctx, ns, name);
  if (r.paused === paused)
    throw new EngineError(
      409,
      paused ? `VMI ${ns}/${name} is already paused` : `VMI ${ns}/${name} is not paused`,
    );
  await r.qmp.execute(paused ? 'stop' : 'cont');
  r.paused = paused;
  await writeVmi(ctx, ns, name, {
    conditions: [
      { type: 'Ready', status: paused ? 'False' : 'True' },
      ...(paused
        ? [
            {
              type: 'Paused',
              status: 'True',
              reason: 'PausedByUser',
              message: 'VMI was paused by user',
            },
          ]
        : []),
    ],
  });
  ctx.manager.enqueue('local-engine', keyOf(ns, name));
}

function operations(ctx: EngineContext): Omit<LocalEngine, 'definition' | 'running' | 'stopAll'> {
  return {
    serial: (ns, name) => guest(ctx, ns, name).serial,
    vnc: (ns, name) => vncSocket(guest(ctx, ns, name).dir),
    async screenshot(ns, name) {
      const r = guest(ctx, ns, name);
      const file = join(r.dir, `screen-${Date.now()}.png`);
      try {
        await r.qmp.execute('screendump', { filename: file, format: 'png' });
        return readFileSync(file);
      } finally {
        rmSync(file, { force: true });
      }
    },
    pause: (ns, name) => setPaused(ctx, ns, name, true),
    unpause: (ns, name) => setPaused(ctx, ns, name, false),
    async start(ns, name) {
      const vm = vmOf(ctx, ns, name);
      const s = runStrategyOf(vm);
      if (s === 'Always' || (s === 'Manual' && ctx.vmis.get(name, ns)))
        throw new EngineError(409, `VM ${ns}/${name} is already running`);
      if (s === 'Manual') await createInstance(ctx, vm, ns, name);
      else await setRunStrategy(ctx, ns, name, 'Always');
    },
    async stop(ns, name, graceSeconds) {
      const vm = vmOf(ctx, ns, name);
      const vmi = ctx.vmis.get(name, ns) as KvVmi | undefined;
      if (runStrategyOf(vm) === 'Halted' && !vmi)
        throw new EngineError(409, `VM ${ns}/${name} is not running`);
      if (graceSeconds !== undefined)
        await stopProcess(ctx, vm, keyOf(ns, name), ns, name, graceSeconds);
      if (runStrategyOf(vm) === 'Manual') {
        if (vmi) await deleteInstance(ctx, ns, name, vmi);
      } else await setRunStrategy(ctx, ns, name, 'Halted');
    },
    async restart(ns, name, graceSeconds) {
      const vm = vmOf(ctx, ns, name);
      if (runStrategyOf(vm) === 'Halted')
        throw new EngineError(409, `RunStrategy Halted does not support manual restart requests`);
      const vmi = ctx.vmis.get(name, ns) as KvVmi | undefined;
      if (!vmi) throw new EngineError(409, `VM ${ns}/${name} is not running`);
      // The guest goes down (gracefully unless asked otherwise), its instance is replaced.
      await stopProcess(ctx, vm, keyOf(ns, name), ns, name, graceSeconds);
      await deleteInstance(ctx, ns, name, vmi);
      if (runStrategyOf(vm) === 'Manual') await createInstance(ctx, vm, ns, name);
    },
  };
}

export function localEngine(manager: Manager, options: LocalEngineOptions): LocalEngine {
  const ctx: EngineContext = {
    manager,
    options,
    vms: manager.informer<KvVm>(VMS),
    vmis: manager.informer<KvVmi>(VMIS),
    running: new Map<string, Running>(),
    failures: new Map(),
    unschedulable: new Map(),
  };
  const inScope = (obj: KubernetesObject): string[] =>
    manager.inScope(obj) ? [objectKey(obj)] : [];
  const definition: ControllerDefinition = {
    name: 'local-engine',
    concurrency: 4,
    watches: [
      { path: VMS, keys: inScope },
      { path: VMIS, keys: inScope },
    ],
    allKeys: () => [...new Set([...ctx.vms.list(), ...ctx.vmis.list()].flatMap(inScope))],
    reconcile: (key) => reconcile(ctx, key),
  };
  return {
    definition,
    running: ctx.running,
    ...operations(ctx),
    async stopAll() {
      await Promise.all(
        [...ctx.running.entries()].map(async ([key, r]) => {
          await powerOff(r, 0);
          forget(ctx, key);
        }),
      );
    },
  };
}
