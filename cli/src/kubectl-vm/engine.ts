// The cluster's KubeVirt as `kubectl vm` sees it: `kubectl vm engine` says whether it runs and
// whether vmplane is checked with its version; `list` warns when it is not.
import type { Argv } from 'yargs';
import {
  activeKubeVirt,
  engineCheck,
  isLocalEngine,
  isSupportedKubeVirt,
  SUPPORTED_KUBEVIRT_TEXT,
  type KubeVirtCr,
} from '../../../decisions/src/kubevirt-install.ts';
import { clusterContext, clusterOptions, type ClusterContext } from './cluster.ts';

/** The cluster's KubeVirt CRs; undefined when KubeVirt's API is not there or may not be read. */
async function kubeVirts(ctx: ClusterContext): Promise<KubeVirtCr[] | undefined> {
  try {
    return (
      await ctx.rest.request<{ items: KubeVirtCr[] }>('GET', '/apis/kubevirt.io/v1/kubevirts')
    ).body.items;
  } catch {
    return undefined;
  }
}

/** One line on stderr when the cluster runs a KubeVirt vmplane is not checked with. */
export async function warnUnsupportedEngine(ctx: ClusterContext): Promise<void> {
  const kv = activeKubeVirt((await kubeVirts(ctx)) ?? []);
  const version = kv?.status?.observedKubeVirtVersion;
  if (kv?.status?.phase === 'Deployed' && version && !isSupportedKubeVirt(version))
    process.stderr.write(
      `warning: this cluster runs KubeVirt ${version}; vmplane is checked with KubeVirt ${SUPPORTED_KUBEVIRT_TEXT} (kubectl vm engine)\n`,
    );
}

export function registerEngineCommand(program: Argv): void {
  program.command(
    'engine',
    "Say whether the cluster's KubeVirt runs, its version, and whether vmplane is checked with it.",
    (command) => clusterOptions(command),
    async (argv) => {
      const ctx = clusterContext(argv);
      const crs = await kubeVirts(ctx);
      const check = engineCheck(crs !== undefined, crs ?? []);
      const kv = activeKubeVirt(crs ?? []);
      const version = kv?.status?.observedKubeVirtVersion;
      process.stdout.write(
        `${check.ok ? 'available' : 'unavailable'} (${check.reason}): ${check.message}\nvmplane is checked with KubeVirt ${SUPPORTED_KUBEVIRT_TEXT}${version ? `; this cluster runs ${isLocalEngine(kv) ? `vmplane's local engine, playing ${version}` : version}${isSupportedKubeVirt(version) ? ', which is supported' : ', which is outside it'}` : ''}\n`,
      );
      ctx.rest.close();
      if (!check.ok || (version && !isSupportedKubeVirt(version))) process.exitCode = 1;
    },
  );
}
