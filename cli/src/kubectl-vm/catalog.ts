// `kubectl vm classes` and `kubectl vm images`: what a namespace may build its VMs from, the classes
// open to it and the images it can boot (its own and the cluster library).
import type { V1Namespace } from '@kubernetes/client-node';
import type { Argv } from 'yargs';
import type {
  ClusterVirtualMachineImage,
  VirtualMachineClass,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { reservationOf } from '../../../api/src/wellknown.ts';
import { classAvailableIn } from '../../../decisions/src/vm.ts';
import { staticLookups } from '../../../kube/src/lookups.ts';
import { formatTable } from '../policy/offline.ts';
import { clusterOptions, VMPLANE, withCluster, type ClusterContext } from './cluster.ts';

async function printClasses(ctx: ClusterContext): Promise<void> {
  const [classes, ns] = await Promise.all([
    ctx.rest.request<{ items: VirtualMachineClass[] }>('GET', `${VMPLANE}/virtualmachineclasses`),
    ctx.rest
      .request<V1Namespace>('GET', `/api/v1/namespaces/${ctx.namespace}`)
      .catch(() => undefined),
  ]);
  const lookups = staticLookups({
    classes: classes.body.items,
    ...(ns ? { namespaces: [ns.body] } : {}),
  });
  const usable = classes.body.items.filter((vmClass) =>
    classAvailableIn(vmClass, ctx.namespace, lookups),
  );
  const rows = usable.map((vmClass) => [
    vmClass.metadata.name ?? '',
    String(vmClass.spec.hardware.cpus),
    vmClass.spec.hardware.memory,
    reservationOf(vmClass),
    String(
      (vmClass.spec.hardware.devices?.gpus ?? []).reduce(
        (total, gpu) => total + (gpu.count ?? 1),
        0,
      ) || '',
    ),
    vmClass.spec.description ?? '',
  ]);
  process.stdout.write(
    `${rows.length ? formatTable(['NAME', 'CPUS', 'MEMORY', 'RESERVATION', 'GPUS', 'DESCRIPTION'], rows) : `No class is available in namespace ${ctx.namespace}.`}\n`,
  );
}

async function printImages(ctx: ClusterContext): Promise<void> {
  const [own, library] = await Promise.all([
    ctx.rest.request<{ items: VirtualMachineImage[] }>(
      'GET',
      `${VMPLANE}/namespaces/${ctx.namespace}/virtualmachineimages`,
    ),
    ctx.rest.request<{ items: ClusterVirtualMachineImage[] }>(
      'GET',
      `${VMPLANE}/clustervirtualmachineimages`,
    ),
  ]);
  const rows = [
    ...own.body.items.map((image) => ['VirtualMachineImage', image] as const),
    ...library.body.items.map((image) => ['ClusterVirtualMachineImage', image] as const),
  ].map(([kind, image]) => [
    image.metadata.name ?? '',
    kind,
    image.spec.osInfo?.name ?? '',
    image.spec.osInfo?.version ?? '',
    image.spec.size ?? '',
  ]);
  process.stdout.write(
    `${rows.length ? formatTable(['NAME', 'KIND', 'OS', 'VERSION', 'SIZE'], rows) : 'No image is available.'}\n`,
  );
}

export function registerCatalogCommands(program: Argv): void {
  program
    .command(
      'classes',
      'The VM classes available in the namespace: CPUs, memory, reservation.',
      (command) => clusterOptions(command).example('$0 classes -n team-a', 'what team-a may use'),
      async (argv) =>
        withCluster(
          argv,
          () => ({ verb: 'list', resource: 'virtualmachineclasses' }),
          printClasses,
        ),
    )
    .command(
      'images',
      'The images usable from the namespace: its own and the cluster library.',
      (command) => clusterOptions(command),
      async (argv) =>
        withCluster(
          argv,
          (ctx) => ({
            verb: 'list',
            resource: 'virtualmachineimages',
            namespace: ctx.namespace,
          }),
          printImages,
        ),
    );
}
