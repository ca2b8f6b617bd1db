// The local engine's controller: plays KubeVirt's virt-controller (virt-controller.ts: instances
// for VMs by runStrategy, the VM's status) and virt-handler (virt-handler.ts: disks, one QEMU
// process per running instance, the instance's status) for one machine, and offers the operations
// behind KubeVirt's subresources (operations.ts) to the subresource API server. Every guest boots
// the tiny Linux kernel directly (KubeVirt's kernel boot); its volumes are qcow2 files (volumes.ts)
// and its first interface a card on QEMU's isolated user network.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerDefinition, Manager } from '../../kube/src/manager.ts';
import { objectKey } from '../../kube/src/manager.ts';
import {
  VMIS,
  VMS,
  type EngineContext,
  type KvVm,
  type KvVmi,
  type LocalEngine,
  type LocalEngineOptions,
  type Running,
} from './engine-context.ts';
import { operations } from './operations.ts';
import { powerOff } from './qemu.ts';
import { reconcile } from './virt-controller.ts';
import { forget } from './virt-handler.ts';

export {
  EngineError,
  type LocalEngine,
  type LocalEngineOptions,
  type Running,
} from './engine-context.ts';

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
