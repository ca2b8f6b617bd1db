// One real control plane per test run: etcd + kube-apiserver with the vmplane CRDs installed, and
// KubeVirt's and CDI's real CRDs with their own validating admission registered (virt-api's
// admitters and cdi-apiserver's DataVolume validation, run by the conformance commands): a
// kubevirt.io object or DataVolume they would refuse is refused here too, whoever writes it. Integration tests reach it through inject('kubeconfig');
// each isolates itself in a namespace.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureBinaries } from '../../harness/src/controlplane/binaries.ts';
import { ensureKubernetesCel } from '../../policy/src/kcel-build.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { ensureConformance } from '../../harness/src/controlplane/conformance.ts';
import { installEngineApis } from '../../harness/src/controlplane/engine-apis.ts';
import { ensureDebianImage } from '../../engine/src/images/debian.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
import {
  startCdiAdmission,
  startKubeVirtAdmission,
  type RunningAdmission,
} from '../../harness/src/controlplane/kubevirt-admission.ts';
import { installCrds, kubeConfigFrom } from '../../kube/src/client.ts';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { CEL_DIR_ENV } from '../../policy/src/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    kubectl: string;
    apiServer: string;
    /** The CA of the client certificate kube-apiserver presents to webhooks, and its names (comma-separated). */
    webhookClientCa: string;
    webhookClientName: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (l: string): void => console.log(`[control plane] ${l}`);
  // The Debian guest image (built once, minutes: mostly downloading and compressing) is built
  // while the Go binaries are: the tests that boot Debian then find it in the cache.
  const debian = ensureDebianImage(cacheRoot(), (l) => console.log(`[debian image] ${l}`));
  debian.catch(() => undefined);
  const binaries = await ensureBinaries(log);
  // The Kubernetes CEL engine (built once, like the binaries): every webhook and audit a test
  // starts finds it through $VMPLANE_CEL_DIR, which the test processes inherit.
  process.env[CEL_DIR_ENV] = await ensureKubernetesCel(log);
  // KubeVirt's and CDI's CRDs and admission checks (built once): tests install the real CRDs.
  const conformance = await ensureConformance(log);
  await debian;
  const runId = process.env.VMPLANE_RUN_ID ?? String(process.pid);
  const cp = new ControlPlane({
    binaries,
    tempPrefix: `vmplane-test-${runId}-`,
    env: { VMPLANE_RUN_ID: runId },
    log,
  });
  const started = Date.now();
  const ep = await cp.start();
  const admissions: RunningAdmission[] = [];
  try {
    const kc = kubeConfigFrom(ep.kubeconfigPath);
    const crds = await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
    const engine = await installEngineApis(kc, conformance.crdDirs);
    const engineCrds = engine.kubevirt + engine.cdi;
    const registered = await Promise.allSettled([
      startKubeVirtAdmission({ bin: conformance.kubevirt, kubeconfigPath: ep.kubeconfigPath, log }),
      startCdiAdmission({ bin: conformance.cdi, kubeconfigPath: ep.kubeconfigPath, log }),
    ]);
    for (const r of registered) if (r.status === 'fulfilled') admissions.push(r.value);
    for (const r of registered) if (r.status === 'rejected') throw r.reason;
    log(
      `${crds.length} vmplane and ${engineCrds} KubeVirt/CDI CRDs established; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    await Promise.allSettled(admissions.map((a) => a.stop()));
    await cp.stop();
    throw e;
  }
  // A run stopped by SIGTERM or Ctrl-C skips the teardown below: stop the control plane anyway,
  // so neither its processes nor its temp folder outlive the run.
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      for (const a of admissions) a.kill();
      cp.abort();
      process.kill(process.pid, sig);
    });
  }
  project.provide('kubeconfig', ep.kubeconfigPath);
  project.provide('kubectl', binaries.kubectl);
  project.provide('apiServer', ep.server);
  project.provide('webhookClientCa', ep.webhookClient.caPem);
  project.provide('webhookClientName', ep.webhookClient.allowedNames.join(','));
  return async () => {
    for (const r of await Promise.allSettled(admissions.map((a) => a.stop())))
      if (r.status === 'rejected') log(`stopping an admission webhook: ${String(r.reason)}`);
    await cp.stop();
  };
}
