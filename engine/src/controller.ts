// The local engine's controller: plays KubeVirt's virt-controller (virt-controller.ts: DataVolumes
// and instances for VMs, the VM's status) and virt-handler (virt-handler.ts: disks, one QEMU
// process per instance, the instance's status from what was observed) on one machine, and offers
// the operations behind KubeVirt's subresources (operations.ts) to the subresource API server.
import type { KubernetesObject } from '@kubernetes/client-node';
import { mkdirSync } from 'node:fs';
import type { ControllerDefinition, Manager } from '../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../kube/src/manager.ts';
import {
  nodesOf,
  VMIS,
  VMS,
  type EngineContext,
  type KvVm,
  type KvVmi,
  type LocalEngine,
  type LocalEngineOptions,
  type Running,
} from './engine-context.ts';
import { defaultDiskBudget } from './disk-budget.ts';
import { launcherKeys, PODS } from './launcher-pod.ts';
import { operations } from './operations.ts';
import { powerOff } from './qemu.ts';
import { provisionerController } from './storage/provisioner.ts';
import { reconcileVm } from './virt-controller.ts';
import { forget, reconcileInstance } from './virt-handler.ts';
import { alive } from './engine-context.ts';
import { userModeNetwork } from './network/user-mode.ts';
import { portForward } from './portforward.ts';
import { migrate, migrationKeys, reconcileMigrations } from './migration/controller.ts';
import { VMIMS, type Vmim } from './migration/run.ts';
import { evacuate } from './migration/evacuation.ts';
import { keepNode, NODES } from './node.ts';

export {
  EngineError,
  type LocalEngine,
  type LocalEngineOptions,
  type Running,
} from './engine-context.ts';

/** The sooner of two requeues. */
function sooner(
  a: { requeueAfterMs: number } | undefined,
  b: { requeueAfterMs: number } | undefined,
): { requeueAfterMs: number } | undefined {
  if (!a || !b) return a ?? b;
  return a.requeueAfterMs <= b.requeueAfterMs ? a : b;
}

/** One pass for a VM and its instance (same name): virt-handler's part, then virt-controller's. */
async function reconcile(
  ctx: EngineContext,
  key: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace: ns = '', name } = splitKey(key);
  const vmiNow = (): KvVmi | undefined => ctx.vmis.get(name, ns) as KvVmi | undefined;
  const handled = sooner(
    sooner(
      await reconcileInstance(ctx, key, vmiNow()),
      await reconcileMigrations(ctx, key, vmiNow()),
    ),
    await evacuate(ctx, key, vmiNow()),
  );
  const vm = ctx.vms.get(name, ns) as KvVm | undefined;
  if (!vm) return handled;
  return sooner(handled, await reconcileVm(ctx, vm, ctx.vmis.get(name, ns) as KvVmi | undefined));
}

export function localEngine(manager: Manager, given: LocalEngineOptions): LocalEngine {
  // The engine's folder is private; the disk budget is fixed when the engine starts.
  mkdirSync(given.stateDir, { recursive: true, mode: 0o700 });
  const options: LocalEngineOptions = {
    ...given,
    diskBudgetBytes: given.diskBudgetBytes ?? defaultDiskBudget(given.stateDir),
  };
  const running = new Map<string, Running>();
  const ctx: EngineContext = {
    manager,
    options,
    vms: manager.informer<KvVm>(VMS),
    vmis: manager.informer<KvVmi>(VMIS),
    running,
    started: new Set(),
    graceOverride: new Map(),
    network:
      options.network ??
      userModeNetwork((key) => {
        const r = running.get(key);
        return r && { qmp: r.qmp, alive: () => alive(r) };
      }),
  };
  // This machine is a Node; the engine provisions the volumes of the classes it plays.
  for (const n of nodesOf(options)) keepNode(manager, n);
  if (options.provisioners?.length) manager.add(provisionerController(ctx));
  const inScope = (obj: KubernetesObject): string[] =>
    manager.inScope(obj) ? [objectKey(obj)] : [];
  const definition: ControllerDefinition = {
    name: 'local-engine',
    concurrency: 4,
    watches: [
      { path: VMS, keys: inScope },
      { path: VMIS, keys: inScope },
      // A node drained: its guests evacuated (migration/evacuation.ts).
      {
        path: NODES,
        keys: (n) =>
          [...ctx.running.entries()].filter(([, r]) => r.node === n.metadata?.name).map(([k]) => k),
      },
      // KubeVirt's migration controller and virt-handler's part of a migration.
      {
        path: VMIMS,
        keys: (o) => (manager.inScope(o) ? migrationKeys(o as unknown as Vmim) : []),
      },
      // The kubelet's part: a launcher Pod deleted under a running guest stops it.
      { path: PODS, keys: (o) => (manager.inScope(o) ? launcherKeys(o) : []) },
    ],
    allKeys: () => [...new Set([...ctx.vms.list(), ...ctx.vmis.list()].flatMap(inScope))],
    reconcile: (key) => reconcile(ctx, key),
  };
  return {
    definition,
    running: ctx.running,
    ...operations(ctx),
    migrate: (ns, name, o) => migrate(ctx, ns, name, o ?? {}),
    portForward: (ns, name, f) => portForward(ctx, ns, name, f),
    async stopAll() {
      // A migration under way is cancelled first: its target QEMU goes with it.
      await Promise.all(
        [...ctx.running.values()].map(async (r) => {
          if (!r.migration) return;
          r.migration.cancel();
          await Promise.race([
            r.migration.done,
            new Promise((res) => setTimeout(res, 5_000).unref()),
          ]);
        }),
      );
      await Promise.all(
        [...ctx.running.entries()].map(async ([key, r]) => {
          await powerOff(r, 0);
          forget(ctx, key);
        }),
      );
    },
  };
}
