// The local engine as virt-handler: the guest's disks and QEMU process on this machine, and the
// instance status that follows from them (Running, Succeeded, Failed, Pending when there is no room).
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseQuantity } from '../../api/src/quantity.ts';
import { splitKey } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import { guestMemory, startBackoffMs } from './decide.ts';
import { createDisk } from './disks.ts';
import {
  NODE,
  UNSCHEDULABLE_RETRY_MS,
  alive,
  diskPath,
  instanceDir,
  keyOf,
  writeVmi,
  type EngineContext,
  type KvVm,
  type KvVmi,
  type Running,
} from './engine-context.ts';
import { GUEST_NETWORK, powerOff, startQemu } from './qemu.ts';
import { claimRequest, isObjectName, macFor, planVolumes, type DiskFile } from './volumes.ts';

/** The disks the VM's volumes need, made when missing (a DataVolume's file outlives instances). */
export async function prepareDisks(
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
export function memoryFor(ctx: EngineContext, vm: KvVm): ReturnType<typeof guestMemory> {
  const domain = vm.spec.template?.spec?.domain;
  const asked = domain?.memory?.guest ?? domain?.resources?.requests?.memory ?? '128Mi';
  return guestMemory(
    Number(parseQuantity(asked).asInteger()),
    ctx.options.memoryCapBytes,
    ctx.options.availableBytes(),
  );
}

/** The status virt-handler writes once the guest runs: node, interface, volumes. */
export function runningStatus(
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
export async function startProcess(
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
export async function failInstance(
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
export async function unschedulable(
  ctx: EngineContext,
  key: string,
  message: string,
): Promise<void> {
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

export function forget(ctx: EngineContext, key: string): Running | undefined {
  const r = ctx.running.get(key);
  if (!r) return undefined;
  r.qmp.close();
  r.serial.close();
  ctx.running.delete(key);
  rmSync(r.dir, { recursive: true, force: true });
  return r;
}

export async function stopProcess(
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

/** A deleted VM's DataVolume files go with it (KubeVirt deletes the DataVolumes it made). */
export function removeDataVolumes(ctx: EngineContext, ns: string, vm: KvVm | undefined): void {
  for (const t of vm?.spec.dataVolumeTemplates ?? []) {
    if (t.metadata?.name && isObjectName(t.metadata.name))
      rmSync(diskPath(ctx, ns, { kind: 'dataVolume', name: t.metadata.name }), { force: true });
  }
}

/** A guest that stopped by itself, or whose instance was replaced, is finished. */
export async function reapFinished(
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
