// One real control plane per test run: etcd + kube-apiserver with the vmplane CRDs installed.
// Integration tests reach it through inject('kubeconfig'); each isolates itself in a namespace.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBinaries } from '../../harness/src/controlplane/binaries.ts';
import { ensureKubernetesCel } from '../../policy/src/kcel-build.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { ensureConformance } from '../../harness/src/controlplane/conformance.ts';
import { installCrds, kubeConfigFrom } from '../../kube/src/client.ts';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { CEL_DIR_ENV } from '../../policy/src/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    apiServer: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (l: string): void => console.log(`[control plane] ${l}`);
  const binaries = await ensureBinaries(log);
  // The Kubernetes CEL engine (built once, like the binaries): every webhook and audit a test
  // starts finds it through $VMPLANE_CEL_DIR, which the test processes inherit.
  process.env[CEL_DIR_ENV] = await ensureKubernetesCel(log);
  // KubeVirt's and CDI's CRDs and admission checks (built once): tests install the real CRDs.
  await ensureConformance(log);
  const runId = process.env.VMPLANE_RUN_ID ?? String(process.pid);
  const cp = new ControlPlane({
    binaries,
    tempPrefix: `vmplane-test-${runId}-`,
    env: { VMPLANE_RUN_ID: runId },
    log,
  });
  const started = Date.now();
  const ep = await cp.start();
  try {
    const crds = await installCrds(
      kubeConfigFrom(ep.kubeconfigPath),
      join(REPO_ROOT, 'charts/vmplane/crds'),
    );
    log(
      `${crds.length} CRDs established; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    await cp.stop();
    throw e;
  }
  // A run stopped by SIGTERM or Ctrl-C skips the teardown below: stop the control plane anyway,
  // so neither its processes nor its temp folder outlive the run.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      cp.abort();
      process.kill(process.pid, sig);
    });
  }
  project.provide('kubeconfig', ep.kubeconfigPath);
  project.provide('kubectl', binaries.kubectl);
  project.provide('apiServer', ep.server);
  return async () => {
    await cp.stop();
  };
}
