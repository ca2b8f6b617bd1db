// `kubectl vm release-finalizers`: before vmplane is uninstalled, its finalizers come off VMs and
// disks, so that deleting them never waits for controllers that are gone.
import type { Argv } from 'yargs';
import { ApiError, isNotFound, type KubeRest } from '../../../kube/src/rest.ts';
import { withoutVmplaneFinalizers } from './actions.ts';
import { clusterOptions, VMPLANE, withCluster, type ClusterContext } from './cluster.ts';

interface Finalized {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; finalizers?: string[] };
}

/** Takes vmplane's finalizers off one object, retrying when it changed under us. */
async function releaseOne(rest: KubeRest, path: string, obj: Finalized): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const keep = withoutVmplaneFinalizers(obj.metadata.finalizers);
    if (!keep) return false;
    try {
      await rest.request('PATCH', path, {
        body: { metadata: { finalizers: keep, resourceVersion: obj.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      if (!(e instanceof ApiError && e.code === 409)) throw e;
      obj = (await rest.request<Finalized>('GET', path)).body;
    }
  }
  throw new Error(`${path} kept changing; run the command again`);
}

/** Releases the VMs and disks of the namespace (or of all) and says how many. */
async function releaseFinalizers(ctx: ClusterContext, all: boolean): Promise<void> {
  const counts: Record<string, number> = {};
  for (const plural of ['virtualmachines', 'virtualmachinedisks']) {
    const base = all ? `${VMPLANE}/${plural}` : `${VMPLANE}/namespaces/${ctx.namespace}/${plural}`;
    const { body } = await ctx.rest.request<{ items: Finalized[] }>('GET', base);
    counts[plural] = 0;
    for (const obj of body.items) {
      const path = `${VMPLANE}/namespaces/${obj.metadata.namespace}/${plural}/${obj.metadata.name}`;
      if (await releaseOne(ctx.rest, path, obj)) counts[plural]++;
    }
  }
  process.stdout.write(
    `released ${counts.virtualmachines} VMs and ${counts.virtualmachinedisks} disks${all ? '' : ` in namespace ${ctx.namespace}`}: they no longer wait for vmplane's controllers. Their KubeVirt VMs and DataVolumes are owned by them and go with them (Kubernetes' garbage collector).\n`,
  );
}

export function registerReleaseFinalizersCommand(program: Argv): void {
  program.command(
    'release-finalizers',
    "Take vmplane's finalizers off VMs and disks, before uninstalling vmplane (helm uninstall), so deleting them, their namespaces or the CRDs never waits for controllers that are gone.",
    (command) =>
      clusterOptions(command)
        .option('all-namespaces', { alias: 'A', type: 'boolean', default: false })
        .example('$0 release-finalizers -A && helm uninstall vmplane -n vmplane-system', ''),
    async (argv) =>
      withCluster(
        argv,
        () => ({ verb: 'patch', resource: 'virtualmachines' }),
        (ctx) => releaseFinalizers(ctx, argv['all-namespaces']),
      ),
  );
}
