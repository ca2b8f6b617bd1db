// The local engine as virt-handler: for each instance on this machine, its disks and its QEMU
// process, and the instance status that follows from what the engine observed of them (the
// process, QMP's run state, the guest's DHCP exchange, the readiness probe).
// Follows KubeVirt v1.7.0's pkg/virt-handler/vm.go (start, graceful shutdown with the instance's
// terminationGracePeriodSeconds, the final phase) and pkg/virt-controller/watch/vmi/ (Pending while
// a claim is missing, Scheduling while no node has room).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { splitKey } from '../../kube/src/manager.ts';
import { isSubset } from '../../kube/src/objects.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import { guestAction } from './decide.ts';
import { observeDhcp } from './dhcp-watch.ts';
import {
  alive,
  deletionOf,
  instanceDir,
  keyOf,
  vmiPath,
  type EngineContext,
  type KvVmi,
  type Running,
} from './engine-context.ts';
import { agentObservation, probeTimeoutMs } from './agent-poller.ts';
import { agentLink, readinessOf } from './guest-agent-probe.ts';
import { probeGuest } from './probes/run.ts';
import { instanceSeed } from './cloud-init-volume.ts';
import { guestCommand } from './guest-command.ts';
import { prepareDisks, withVolumeFormats } from './guest-disks.ts';
import {
  launcherDeleting,
  ensureLauncherPod,
  launcherEnded,
  removeLauncherPods,
  setLauncherStatus,
} from './launcher-pod.ts';
import type { Condition } from './instance-status.ts';
import { instanceStatus, type InstanceObservation, type VmiPhase } from './instance-status.ts';
import { liveMigratable } from './live-migratable.ts';
import { powerOff, QEMU_LIMITS, startQemu, stopNetDump } from './qemu.ts';
import type { DiskFile } from './volumes.ts';
import { macFor } from './volumes.ts';
import { placeOn, roomFor } from './room.ts';
import {
  observedCards,
  prepareCards,
  releaseCards,
  type PreparedCards,
} from './network/guest-cards.ts';
import type { SeedDisk } from './qemu.ts';

/** The finalizer virt-api puts on every instance: it goes once the guest is down. */
export const VMI_FINALIZER = 'kubevirt.io/foregroundDeleteVirtualMachine';
/** virt-controller's finalizer on instances it made for a VM. */
export const VM_CONTROLLER_FINALIZER = 'kubevirt.io/virtualMachineControllerFinalize';

/** KubeVirt's terminationGracePeriodSeconds when the instance gives none. */
const DEFAULT_GRACE_S = 30;
/** How often a running guest is looked at again (its address, its readiness probe). */
const OBSERVE_EVERY_MS = 2_000;

/** The value with its null fields (at any depth) left out. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, withoutNulls(x)]),
  );
}

/** Writes the instance's status (the VMI's CRD has no status subresource: the main resource). */
async function writeStatus(ctx: EngineContext, vmi: KvVmi, o: InstanceObservation): Promise<void> {
  const { namespace: ns = '', name = '' } = vmi.metadata ?? {};
  const status = instanceStatus(o, vmi.status, new Date());
  const have = (vmi.status ?? {}) as Record<string, unknown>;
  // A null is a field the patch removes: the server's copy has none.
  const same = (want: unknown, got: unknown): boolean =>
    want === null
      ? got === null || got === undefined
      : isSubset(withoutNulls(want), got) && isSubset(got, withoutNulls(want));
  // An instance whose status is what the engine sees costs no write.
  if (Object.entries(status).every(([k, v]) => same(v, have[k]))) return;
  await ctx.manager.rest
    .request('PATCH', vmiPath(ns, name), {
      body: {
        status,
      },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** Whether KubeVirt would live-migrate this instance, from its spec and its claims. */
function migratableOf(vmi: KvVmi, disks: DiskFile[]): Condition {
  const pod = vmi.spec.networks?.find((n) => n.pod)?.name;
  const card = vmi.spec.domain?.devices?.interfaces?.find((i) => i.name === pod) as
    Record<string, unknown> | undefined;
  const binding = card
    ? ['masquerade', 'bridge', 'sriov', 'passt', 'binding'].find((b) => b in card)
    : undefined;
  return liveMigratable({
    ...(binding ? { podBinding: binding } : {}),
    bridgeAllowed:
      vmi.metadata?.annotations?.['kubevirt.io/allow-pod-bridge-network-live-migration'] !==
      undefined,
    claims: disks.map((d) => ({
      claimName: d.name,
      ...(d.accessModes ? { accessModes: d.accessModes } : {}),
    })),
  });
}

/** What the engine observes of a running guest now. */
function observeRunning(
  ctx: EngineContext,
  vmi: KvVmi,
  r: Running,
  key: string,
): InstanceObservation {
  return {
    phase: 'Running',
    nodeName: r.node,
    paused: r.paused,
    interfaces: observedCards(ctx, r.netKey ?? key) ?? (r.iface ? [r.iface] : []),
    readiness: readinessOf(vmi, r),
    ...(r.migratable ? { liveMigratable: r.migratable } : {}),
    ...(r.agent ? { agent: agentObservation(r.agent) } : {}),
    ...(r.evacuating ? { evacuationNodeName: r.evacuating } : {}),
    ...((r.migration?.state ?? r.lastMigration)
      ? { migrationState: r.migration?.state ?? r.lastMigration }
      : {}),
  };
}

/** What is waited on before a guest can start (a claim, a DataVolume), as the instance's status. */
function waitingFor(
  disks: Extract<Awaited<ReturnType<typeof prepareDisks>>, { ok: false }>,
): InstanceObservation {
  return disks.missingClaim
    ? { phase: 'Pending', claimMissing: disks.missingClaim }
    : // A launcher Pod would wait unscheduled for its claim; none is made for a DataVolume.
      {
        phase: 'Pending',
        ...(disks.waiting?.noPod ? {} : { unschedulable: disks.waiting?.waiting }),
      };
}

/** What QEMU is started with: the first card's MAC, and the traffic record in user-mode. */
function guestSpec(
  ctx: EngineContext,
  vmi: KvVmi,
  key: string,
  o: {
    dir: string;
    room: { memoryBytes: number; cpus: number };
    disks: DiskFile[];
    seed: SeedDisk | undefined;
    cards: PreparedCards | undefined;
  },
) {
  const ifaceSpec = vmi.spec.domain?.devices?.interfaces?.[0];
  const mac = ifaceSpec?.macAddress || macFor(vmi.metadata?.uid ?? key);
  const dumpFile = ifaceSpec && !o.cards ? join(o.dir, 'net0.pcap') : undefined;
  const spec = {
    dir: o.dir,
    vmi,
    memoryBytes: o.room.memoryBytes,
    cpus: o.room.cpus,
    disks: o.disks.map((d) => ({ ...d, path: d.path ?? '' })),
    mac,
    ...(dumpFile ? { dumpFile } : {}),
    ...(o.seed ? { seed: o.seed } : {}),
    ...(o.cards ? { taps: o.cards.taps } : {}),
    limits: { maxCpus: ctx.options.maxCpus ?? QEMU_LIMITS.maxCpus },
  };
  return { spec, ifaceSpec, mac, dumpFile };
}

/** Starts the instance's guest: a node, disks, room, QEMU; the phase follows each step. */
async function startGuest(ctx: EngineContext, vmi: KvVmi, key: string): Promise<void> {
  const placed = placeOn(ctx, { nodeSelector: vmi.spec.nodeSelector });
  if (!placed.ok)
    return writeStatus(ctx, vmi, { phase: 'Scheduling', unschedulable: placed.message });
  const node = placed.node;
  const disks = await prepareDisks(ctx, vmi, node);
  if (!disks.ok) return writeStatus(ctx, vmi, waitingFor(disks));
  const room = roomFor(ctx, vmi);
  if (!room.ok) return writeStatus(ctx, vmi, { phase: 'Scheduling', unschedulable: room.message });
  const pod = await ensureLauncherPod(ctx, vmi, disks.disks, node);
  const dir = instanceDir(ctx, key, node);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const seed = await instanceSeed(ctx, vmi, dir);
  if (!seed.ok) return writeStatus(ctx, vmi, seed.observation);
  const startedAt = new Date();
  const failed = (message: string): Promise<undefined> =>
    failedToStart(ctx, vmi, key, { pod, dir, startedAt, message }).then(() => undefined);
  const cards = await prepareCards(ctx, vmi, key).catch((e: Error) => e);
  if (cards instanceof Error) return void (await failed(cards.message));
  const { spec, ifaceSpec, mac, dumpFile } = guestSpec(ctx, vmi, key, {
    dir,
    room,
    disks: disks.disks,
    seed: seed.seed,
    cards,
  });
  const vmRun = await startQemu(
    withVolumeFormats(guestCommand(spec), disks.disks),
    ctx.options.qemu,
    cards?.inside,
  ).catch((e: Error) => failed(e.message));
  if (!vmRun) return;
  const r: Running = {
    ...vmRun,
    dir,
    node,
    paused: vmi.spec.startStrategy === 'Paused',
    instanceUid: vmi.metadata?.uid,
    memoryBytes: room.memoryBytes,
    ...(ifaceSpec ? { iface: { name: ifaceSpec.name, mac } } : {}),
    ...(dumpFile ? { dumpFile } : {}),
    ...(cards ? { podIP: cards.podIP } : {}),
    migratable: migratableOf(vmi, disks.disks),
    startedAt: startedAt.getTime(),
    pod,
    agent: agentLink(ctx, key, dir, vmRun.qmp),
    guest: { spec: withVolumeFormats(guestCommand(spec), disks.disks), disks: disks.disks },
  };
  ctx.running.set(key, r);
  ctx.started.add(vmi.metadata?.uid ?? key);
  // A guest that stops by itself (poweroff inside it) is a finished instance.
  vmRun.child.once('exit', () => ctx.manager.enqueue('local-engine', key));
  await setLauncherStatus(ctx, vmi.metadata?.namespace ?? '', pod, {
    phase: 'Running',
    startedAt,
    ...(cards ? { podIP: cards.podIP } : {}),
  });
  const state = await vmRun.qmp.execute<{ status: string }>('query-status');
  r.paused = pausedState(state.status);
  await writeStatus(ctx, vmi, observeRunning(ctx, vmi, r, key));
}

/** The guest could not start (its network, QEMU): it fails, as virt-launcher's sync would. */
async function failedToStart(
  ctx: EngineContext,
  vmi: KvVmi,
  key: string,
  o: { pod: string; dir: string; startedAt: Date; message: string },
): Promise<void> {
  rmSync(o.dir, { recursive: true, force: true });
  releaseCards(ctx, key);
  await launcherEnded(ctx, vmi, { pod: o.pod, startedAt: o.startedAt.getTime() }, 1);
  ctx.manager.log.warn({ vm: key, err: o.message }, 'local engine: the guest did not start');
  await writeStatus(ctx, vmi, {
    phase: 'Failed',
    failure: { reason: 'Synchronizing with the Domain failed.', message: o.message },
  });
}

/** QMP's run states of a guest whose CPUs are stopped: paused, or never started (-S). */
const pausedState = (status: string): boolean => status === 'paused' || status === 'prelaunch';

/** Forgets a guest whose process is gone: sockets closed, its folder removed. */
export function forget(ctx: EngineContext, key: string): Running | undefined {
  const r = ctx.running.get(key);
  if (!r) return undefined;
  r.agent?.stop();
  r.qmp.close();
  r.serial.close();
  ctx.running.delete(key);
  releaseCards(ctx, r.netKey ?? key);
  rmSync(r.dir, { recursive: true, force: true });
  return r;
}

/** Shuts the guest down as virt-handler does: ACPI, then hard once the grace period is over. */
async function shutdown(ctx: EngineContext, vmi: KvVmi, key: string): Promise<VmiPhase> {
  const r = ctx.running.get(key);
  if (!r) return 'Succeeded';
  const { namespace: ns = '', name = '' } = vmi.metadata ?? {};
  // The grace period as the instance has it now: a stop --force --grace-period=0 shortens it
  // while the guest is shutting down (virt-handler looks again at least every 5 s).
  const graceS = (): number =>
    ctx.graceOverride.get(vmi.metadata?.uid ?? '') ??
    (ctx.vmis.get(name, ns) as KvVmi | undefined)?.spec.terminationGracePeriodSeconds ??
    vmi.spec.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_S;
  const began = Date.now();
  const deadline = (): number =>
    began + Math.min(graceS() * 1000, ctx.options.maxGraceMs ?? 30_000);
  let how: 'soft' | 'hard' = 'hard';
  if (graceS() > 0) {
    // A paused guest cannot hear the power button: it is resumed first.
    if (r.paused) await r.qmp.execute('cont').catch(() => undefined);
    await r.qmp.execute('system_powerdown').catch(() => undefined);
    while (alive(r) && Date.now() < deadline())
      await new Promise((resolve) => setTimeout(resolve, 250));
    if (!alive(r)) how = 'soft';
  }
  if (alive(r)) await powerOff(r, 0);
  forget(ctx, key);
  await launcherEnded(ctx, vmi, r, how === 'hard' && graceS() > 0 ? 1 : 0);
  ctx.manager.log.info({ vm: key, how }, 'local engine: VM powered off');
  // A guest killed after ignoring the power button failed; one stopped with no grace did not.
  return how === 'hard' && graceS() > 0 ? 'Failed' : 'Succeeded';
}

/** The guest is gone: the final phase, and the instance's finalizers when it is being deleted. */
async function finish(
  ctx: EngineContext,
  vmi: KvVmi,
  key: string,
  phase: VmiPhase | undefined,
): Promise<void> {
  const current = vmi.status?.phase;
  const final = current === 'Succeeded' || current === 'Failed';
  if (!final) {
    const r = forget(ctx, key);
    const exited = r?.child.exitCode;
    // QEMU exits 0 when the guest powers itself off; anything else is a crash.
    const ended: VmiPhase =
      phase ?? (exited === 0 || exited === undefined ? 'Succeeded' : 'Failed');
    if (r && !phase) await launcherEnded(ctx, vmi, r, ended === 'Succeeded' ? 0 : 1);
    await writeStatus(ctx, vmi, {
      phase: ended,
      ...(ended === 'Failed' && exited !== 0 && !phase
        ? {
            failure: {
              reason: 'Synchronizing with the Domain failed.',
              message: `QEMU exited with code ${exited}`,
            },
          }
        : {}),
    });
  }
  if (deletionOf(vmi)) {
    ctx.graceOverride.delete(vmi.metadata?.uid ?? '');
    await removeLauncherPods(ctx, keyOf(vmi.metadata?.namespace ?? '', vmi.metadata?.name ?? ''));
    await dropFinalizers(ctx, vmi);
  }
}

async function dropFinalizers(ctx: EngineContext, vmi: KvVmi): Promise<void> {
  const list = vmi.metadata?.finalizers ?? [];
  const ours = [VMI_FINALIZER, 'foregroundDeleteVirtualMachine', VM_CONTROLLER_FINALIZER];
  if (!list.some((f) => ours.includes(f))) return;
  const { namespace: ns = '', name = '' } = vmi.metadata ?? {};
  await ctx.manager.rest
    .request('PATCH', vmiPath(ns, name), {
      body: {
        metadata: {
          finalizers: list.filter((f) => !ours.includes(f)),
          resourceVersion: vmi.metadata?.resourceVersion,
        },
      },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      ctx.manager.enqueue('local-engine', keyOf(ns, name));
    });
}

/** Looks at a running guest again: its address (the DHCP exchange), run state and readiness. */
async function observe(ctx: EngineContext, vmi: KvVmi, key: string): Promise<boolean> {
  const r = ctx.running.get(key);
  if (!r || !alive(r)) return false;
  if (r.iface && !r.iface.ip && r.dumpFile) {
    const ip = await observeDhcp(r.dumpFile, r.iface.mac);
    if (ip) {
      r.iface.ip = ip;
      // The address is known: the traffic is no longer recorded.
      await stopNetDump(r.qmp).catch(() => undefined);
      rmSync(r.dumpFile, { force: true });
      delete r.dumpFile;
    }
  }
  const state = await r.qmp.execute<{ status: string }>('query-status').catch(() => undefined);
  if (state) r.paused = pausedState(state.status);
  r.agent?.setPaused(r.paused);
  const probe = vmi.spec.readinessProbe;
  if (probe?.guestAgentPing && r.agent && !r.paused)
    r.agentProbe = await r.agent.ping(probeTimeoutMs(probe));
  // tcpSocket and httpGet, through the node network, when due (probes/run.ts).
  if (!r.paused) await probeGuest(ctx.network, vmi, r, r.startedAt);
  await writeStatus(ctx, vmi, observeRunning(ctx, vmi, r, key));
  return true;
}

/**
 * As the kubelet does when a Pod is deleted (by a user, or by the namespace controller, which
 * deletes Pods first and waits for them): the guest is shut down within its grace, the instance
 * ends Failed (its launcher went), and the Pod is removed. Whether that happened.
 */
async function stoppedWithItsPod(ctx: EngineContext, vmi: KvVmi, key: string): Promise<boolean> {
  const r = ctx.running.get(key);
  if (!alive(r) || !launcherDeleting(ctx, vmi.metadata?.namespace ?? '', r?.pod)) return false;
  await shutdown(ctx, vmi, key);
  await finish(ctx, vmi, key, 'Failed');
  await removeLauncherPods(ctx, key);
  return true;
}

/** One pass of virt-handler for the instance of this key. */
export async function reconcileInstance(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
): Promise<{ requeueAfterMs: number } | undefined> {
  const r = ctx.running.get(key);
  // A guest whose instance is gone or was replaced is stopped at once.
  if (r && (!vmi || (r.instanceUid && vmi.metadata?.uid !== r.instanceUid))) {
    if (alive(r)) await powerOff(r, 0);
    forget(ctx, key);
  }
  if (!vmi) return removeLauncherPods(ctx, key).then(() => undefined);
  if (await stoppedWithItsPod(ctx, vmi, key)) return undefined;
  const step = guestAction({
    phase: vmi.status?.phase ?? 'Pending',
    deleting: deletionOf(vmi),
    process: alive(ctx.running.get(key)),
    started: ctx.started.has(vmi.metadata?.uid ?? key),
  });
  switch (step.kind) {
    case 'startProcess':
      await startGuest(ctx, vmi, key);
      // Waiting for a claim or for room: looked at again.
      return alive(ctx.running.get(key))
        ? { requeueAfterMs: OBSERVE_EVERY_MS }
        : { requeueAfterMs: ctx.options.unschedulableRetryMs ?? 5_000 };
    case 'stopProcess':
      return finish(ctx, vmi, key, await shutdown(ctx, vmi, key)).then(() => undefined);
    case 'finish':
      await finish(ctx, vmi, key, undefined);
      ctx.started.delete(vmi.metadata?.uid ?? key);
      return undefined;
    case 'none':
      return (await observe(ctx, vmi, key)) ? { requeueAfterMs: OBSERVE_EVERY_MS } : undefined;
  }
}

export { splitKey };
