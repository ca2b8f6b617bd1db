// The engine's APIs on a local API server: KubeVirt's and CDI's real CRDs (from their own
// generators, at the releases vmplane is checked with) and the CDIConfig CDI's controller makes
// when it starts (CDI's admission reads it). The tests' global setup and the sandbox install the
// same, so the sandbox is the cluster the tests check.
import type { KubeConfig } from '@kubernetes/client-node';
import { installCrds } from '../../../kube/src/client.ts';
import { ApiError, KubeRest } from '../../../kube/src/rest.ts';

export async function installEngineApis(
  kc: KubeConfig,
  crdDirs: { kubevirt: string; cdi: string },
): Promise<{ kubevirt: number; cdi: number }> {
  const kubevirt = await installCrds(kc, crdDirs.kubevirt);
  const cdi = await installCrds(kc, crdDirs.cdi);
  const rest = new KubeRest(kc);
  try {
    await rest
      .create({
        apiVersion: 'cdi.kubevirt.io/v1beta1',
        kind: 'CDIConfig',
        metadata: { name: 'config' },
        spec: {},
      } as never)
      .catch((e) => {
        if (!(e instanceof ApiError && e.code === 409)) throw e;
      });
  } finally {
    rest.close();
  }
  return { kubevirt: kubevirt.length, cdi: cdi.length };
}
