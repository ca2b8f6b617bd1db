// What the local engine's parts share: the kubevirt.io objects as the engine reads them, the
// running guests, the engine's options and state, and where each VM's files live.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { defaultDiskBudget, overBudget, usedBytes } from './disk-budget.ts';
import type { ResilientInformer } from '../../kube/src/informer.ts';
import type { ControllerDefinition, Manager } from '../../kube/src/manager.ts';
import type { ChangeRequest, RunStrategy } from './decide.ts';
import type { AgentLink, AgentLinkOptions } from './agent-poller.ts';
import type { Condition, PhaseTransition, ProbeKind, VmiPhase } from './instance-status.ts';
import { type Qmp, type QemuSpec, type Serial } from './qemu.ts';
import type { MigrationRun, MigrationState } from './migration/state.ts';
import type { Duplex } from 'node:stream';
import type { ForwardRequest } from './subresources.ts';
import { volumesBytes } from './storage/volume-files.ts';
import type { TinyLinux } from './tiny-linux.ts';
import type { NodeNetwork } from './network/node-network.ts';
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
    instancetype?: { name: string; kind?: string };
    preference?: { name: string; kind?: string };
    template?: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec?: VmiSpec;
    };
  };
  status?: Record<string, unknown> & {
    stateChangeRequests?: ChangeRequest[];
    runStrategy?: RunStrategy;
    startFailure?: {
      consecutiveFailCount: number;
      lastFailedVMIUID?: string;
      retryAfterTimestamp?: string;
    };
    conditions?: Condition[];
  };
}

export interface VmiSpec extends Record<string, unknown> {
  domain?: {
    memory?: { guest?: string };
    cpu?: { cores?: number; sockets?: number; threads?: number };
    resources?: { requests?: { memory?: string } };
    devices?: {
      interfaces?: {
        name: string;
        macAddress?: string;
        masquerade?: object;
        bridge?: object;
        bootOrder?: number;
      }[];
      disks?: { name: string; bootOrder?: number }[];
    };
    firmware?: { kernelBoot?: { kernelArgs?: string } };
  };
  networks?: { name: string; pod?: object }[];
  volumes?: VolumeSpec[];
  terminationGracePeriodSeconds?: number;
  nodeSelector?: Record<string, string>;
  evictionStrategy?: 'LiveMigrate' | 'LiveMigrateIfPossible' | 'External' | 'None';
  startStrategy?: 'Paused';
  readinessProbe?: Partial<Record<ProbeKind, object>> & { initialDelaySeconds?: number };
}

export interface KvVmi extends KubernetesObject {
  spec: VmiSpec;
  status?: {
    phase?: VmiPhase;
    nodeName?: string;
    conditions?: Condition[];
    phaseTransitionTimestamps?: PhaseTransition[];
    interfaces?: unknown[];
    migrationState?: MigrationState;
  };
}

export interface Running {
  child: ChildProcess;
  qmp: Qmp;
  serial: Serial;
  dir: string;
  /** QMP said the guest is paused (by the user). */
  paused: boolean;
  /** The instance's uid: a new instance is a new guest. */
  instanceUid?: string;
  /** The engine node the guest runs on (a live migration moves it). */
  node: string;
  /** The key of its pod network namespace (the instance's key; a migration target's own first). */
  netKey?: string;
  /** Guest memory the instance holds (counted against the engine's budget). */
  memoryBytes: number;
  /** The first interface, its MAC, and the address the engine saw the guest take (user-mode). */
  iface?: { name: string; mac: string; ip?: string };
  /** The pod IP of the instance's launcher pod (namespace mode). */
  podIP?: string;
  /** Where QEMU records the first card's traffic until the guest's DHCP exchange was seen. */
  dumpFile?: string;
  /** Whether KubeVirt would live-migrate the guest (its LiveMigratable condition). */
  migratable?: Condition;
  /** The instance's virt-launcher Pod (launcher-pod.ts). */
  pod?: string;
  /** When the guest's process started (the readiness probe's initial delay counts from it). */
  startedAt: number;
  /** The guest agent: its channel, its poller, what it said (agent-poller.ts). */
  agent?: AgentLink;
  /** The last guestAgentPing probe's result. */
  agentProbe?: { ok: boolean; message: string };
  /** What QEMU was started with (a migration's target starts with the same, on its node). */
  guest?: { spec: QemuSpec; disks: DiskFile[] };
  /** The live migration under way, if one is (migration/run.ts). */
  migration?: MigrationRun;
  /** The last migration's state once it ended (the instance keeps it in status.migrationState). */
  lastMigration?: MigrationState;
  /** The node being drained the guest is to leave (status.evacuationNodeName). */
  evacuating?: string;
  /** What QEMU reported of the last migration that brought the guest here (ms). */
  migrationStats?: { totalMs?: number; downtimeMs?: number };
}

/** An operation refused, with the HTTP status the subresource API answers. */
export class EngineError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** Answered as plain text, as virt-api does for some GETs (go-restful's WriteError). */
    readonly plain = false,
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
  /**
   * Guest memory the engine may give its VMs in all (a share of the machine's memory in the
   * sandbox); each running guest's memory is counted against it.
   */
  memoryBudgetBytes: () => number;
  /** vCPUs one VM may have (the machine's CPUs by default). */
  maxCpus?: number;
  /** Disk space the engine's disks may take in all (half the free space of stateDir by default). */
  diskBudgetBytes?: number;
  /** VMs that may run at once (16 by default). */
  maxVms?: number;
  /** The longest ACPI grace before a hard stop (KubeVirt's default grace is 30 s). */
  maxGraceMs?: number;
  qemu?: string;
  qemuImg?: string;
  /** The images DataVolumes may start from, by source URL; the tiny Linux is one of them. */
  library?: LibraryImage[];
  /** How often an instance waiting for room or for a claim is looked at again (5 s by default). */
  unschedulableRetryMs?: number;
  /** The StorageClass provisioners the engine plays (storage/provisioner.ts); none by default. */
  provisioners?: string[];
  /** The guest agent poller's intervals and timeouts (virt-launcher's by default; tests shorten). */
  agentPoll?: AgentLinkOptions;
  /**
   * The nodes the engine plays (Node objects it registers and keeps Ready, each with a folder of
   * its own); instances are placed on one. One node, named after this machine, by default.
   */
  nodes?: EngineNode[];
  /**
   * The node network the VMs sit on (network/start.ts): a namespace of the engine's own (each
   * launcher pod its own namespace, L2 bridges, real DHCP), or user-mode. None: user-mode.
   */
  network?: NodeNetwork;
}

export interface LocalEngine {
  definition: ControllerDefinition;
  /** The running VMs, by namespace/name (for the console and the tests). */
  running: Map<string, Running>;
  /** Stops every VM at once (the engine is going away). */
  stopAll(): Promise<void>;
  /** The guest's serial console (for the console subresource), after virt-api's checks. */
  serial(ns: string, name: string): Promise<Serial>;
  /** The guest's VNC socket, after virt-api's checks. */
  vnc(ns: string, name: string): Promise<string>;
  /** The guest's screen as PNG. */
  screenshot(ns: string, name: string): Promise<Buffer>;
  pause(ns: string, name: string, o?: { dryRun?: boolean }): Promise<void>;
  unpause(ns: string, name: string, o?: { dryRun?: boolean }): Promise<void>;
  start(ns: string, name: string, o?: StartOptions): Promise<void>;
  stop(ns: string, name: string, o?: StopOptions): Promise<void>;
  restart(ns: string, name: string, o?: RestartOptions): Promise<void>;
  /** migrate: a VirtualMachineInstanceMigration for the VM's running instance (virt-api's checks first). */
  migrate(ns: string, name: string, o?: MigrateOptions): Promise<void>;
  /** portforward: a connection to the guest's port, after virt-api's checks (portforward.ts). */
  portForward(ns: string, name: string, f: ForwardRequest): Promise<Duplex>;
  /** guestosinfo, userlist, filesystemlist: what the guest agent said (virt-handler's cache). */
  guestAgent(
    ns: string,
    name: string,
    what: 'guestosinfo' | 'userlist' | 'filesystemlist',
  ): Promise<object>;
}

export interface StartOptions {
  paused?: boolean;
  dryRun?: boolean;
}
export interface StopOptions {
  gracePeriod?: number;
  dryRun?: boolean;
}
export interface MigrateOptions {
  dryRun?: boolean;
  addedNodeSelector?: Record<string, string>;
}
export interface RestartOptions {
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export const NODE = hostname();

/** A node the engine plays: its name and, when given, its zone (topology.kubernetes.io/zone). */
export interface EngineNode {
  name: string;
  zone?: string;
}

/** The label value (at most 63 bytes) of a node name made from this machine's name and a suffix. */
const nodeName = (suffix: string): string => `${NODE.slice(0, 63 - suffix.length)}${suffix}`;

/** The sandbox's nodes: two, in two zones, so that VMs can live-migrate between them. */
export const TWO_NODES: EngineNode[] = [
  { name: NODE, zone: 'zone-a' },
  { name: nodeName('-2'), zone: 'zone-b' },
];

/** The nodes of an engine (its options', else this machine alone). */
export const nodesOf = (o: Pick<LocalEngineOptions, 'nodes'>): EngineNode[] =>
  o.nodes?.length ? o.nodes : [{ name: NODE }];

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
  /** Grace periods shortened by a stop (virt-api's patch of the instance), by instance UID. */
  graceOverride: Map<string, number>;
  /** Instances whose guest this engine started (a process that went away means the guest finished). */
  started: Set<string>;
  /** The node network (the options' one, or the user-mode fallback). */
  network: NodeNetwork;
}

export const vmiPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
export const vmPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
export const alive = (r: Running | undefined): boolean =>
  !!r && r.child.exitCode === null && r.child.signalCode === null;
export const keyOf = (ns: string, name: string): string => `${ns}/${name}`;

/**
 * An instance's own folder on a node (QEMU's sockets): short and private, under the node's folder
 * (nodes/<its index>) and named by a hash of the key so that no namespace or name makes a socket
 * path longer than Unix allows (108 bytes). A migration's target has one on its node.
 */
export const instanceDir = (ctx: EngineContext, key: string, node: string): string =>
  join(nodeDir(ctx, node), instanceFolderName(key));

/** A node's own folder. */
export const nodeDir = (ctx: EngineContext, node: string): string =>
  join(
    ctx.options.stateDir,
    'nodes',
    String(
      Math.max(
        0,
        nodesOf(ctx.options).findIndex((n) => n.name === node),
      ),
    ),
  );

/** The name of an instance's folder: a hash of namespace/name, short whatever the names. */
export const instanceFolderName = (key: string): string =>
  createHash('sha256').update(key).digest('hex').slice(0, 16);
/** The folders of the engine's disk files. */
export const diskFolders = (ctx: EngineContext): string[] => [
  join(ctx.options.stateDir, 'datavolumes'),
  join(ctx.options.stateDir, 'claims'),
];

/** Why a disk of `bytes` (replacing the file at `path`, if any) would not fit the disk budget. */
export function diskOverBudget(
  ctx: EngineContext,
  bytes: number,
  path: string,
): string | undefined {
  const budget = ctx.options.diskBudgetBytes ?? defaultDiskBudget(ctx.options.stateDir);
  const used = usedBytes(diskFolders(ctx), path) + volumesBytes(ctx.options.stateDir, path);
  return overBudget(used, bytes, budget);
}

/** A disk's file, keyed by the UID of its claim or DataVolume: two objects never share one. */
export const diskPath = (ctx: EngineContext, d: Pick<DiskFile, 'kind' | 'uid'>): string =>
  join(ctx.options.stateDir, d.kind === 'claim' ? 'claims' : 'datavolumes', `${d.uid}.qcow2`);

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
