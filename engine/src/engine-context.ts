// What the local engine's parts share: the kubevirt.io objects as the engine reads them, the
// running guests, the engine's options and state, and where each VM's files live.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ResilientInformer } from '../../kube/src/informer.ts';
import type { ControllerDefinition, Manager } from '../../kube/src/manager.ts';
import { type InstanceView, type RunStrategy } from './decide.ts';
import { type Qmp, type Serial } from './qemu.ts';
import type { TinyLinux } from './tiny-linux.ts';
import {
  type DataVolumeTemplate,
  type DiskFile,
  type LibraryImage,
  type VolumeSpec,
} from './volumes.ts';

export const VMS = '/apis/kubevirt.io/v1/virtualmachines';
export const VMIS = '/apis/kubevirt.io/v1/virtualmachineinstances';

export interface KvVm extends KubernetesObject {
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

export interface KvVmi extends KubernetesObject {
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

export const NODE = hostname();

export function runStrategyOf(vm: KvVm): RunStrategy {
  if (vm.spec.runStrategy) return vm.spec.runStrategy;
  return vm.spec.running ? 'Always' : 'Halted';
}

export interface EngineContext {
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
export const UNSCHEDULABLE_RETRY_MS = 30_000;

export const vmiPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
export const vmPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
export const alive = (r: Running | undefined): boolean =>
  !!r && r.child.exitCode === null && r.child.signalCode === null;
export const keyOf = (ns: string, name: string): string => `${ns}/${name}`;

/** Where the VM's files live: its QEMU folder (sockets) goes with each instance, disks stay. */
export const instanceDir = (ctx: EngineContext, ns: string, name: string): string =>
  join(ctx.options.stateDir, 'vms', ns, name);
export const diskPath = (
  ctx: EngineContext,
  ns: string,
  d: Pick<DiskFile, 'kind' | 'name'>,
): string =>
  join(ctx.options.stateDir, d.kind === 'claim' ? 'claims' : 'datavolumes', ns, `${d.name}.qcow2`);

export function writeVmi(
  ctx: EngineContext,
  ns: string,
  name: string,
  status: object,
): Promise<unknown> {
  return ctx.manager.rest.request('PATCH', vmiPath(ns, name), {
    body: { status },
    contentType: 'application/merge-patch+json',
  });
}

export const deletionOf = (o: KubernetesObject | undefined): boolean =>
  !!(o?.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp;
