// One VM as `kubectl vm` reads it: fetched by name (or a clear error), and why it is not ready yet.
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { fail, VMPLANE, type ClusterContext } from './cluster.ts';

export async function getVm(ctx: ClusterContext, name: string): Promise<VirtualMachine> {
  try {
    return (
      await ctx.rest.request<VirtualMachine>(
        'GET',
        `${VMPLANE}/namespaces/${ctx.namespace}/virtualmachines/${name}`,
      )
    ).body;
  } catch (e) {
    return fail(ctx, e, {
      verb: 'get',
      resource: 'virtualmachines',
      name,
      namespace: ctx.namespace,
    });
  }
}

/** The first condition that holds the VM back, as ` (Type: message)`; empty when none does. */
export function readyHint(vm: VirtualMachine): string {
  const condition = vm.status?.conditions?.find(
    (x) =>
      x.status === 'False' &&
      ['EngineAvailable', 'ClassResolved', 'ImageResolved', 'DisksReady', 'PowerAction'].includes(
        x.type,
      ),
  );
  return condition ? ` (${condition.type}: ${condition.message})` : '';
}

/** The console and the screen need a running (or paused) VM: otherwise say so and exit 1. */
export async function exitUnlessRunning(ctx: ClusterContext, name: string): Promise<void> {
  const vm = await getVm(ctx, name);
  const status = vm.status?.printableStatus;
  if (status === 'Running' || status === 'Paused') return;
  process.stderr.write(
    `error: virtualmachine/${name} is not running (status: ${status ?? 'Pending'}${readyHint(vm)}); start it with: kubectl vm start ${name} --wait\n`,
  );
  process.exit(1);
}
