// The engine's APIs on a local API server: KubeVirt's and CDI's real CRDs (from their own
// generators, at the releases vmplane is checked with) and the CDIConfig CDI's controller makes
// when it starts (CDI's admission reads it). The tests' global setup and the sandbox install the
// same, so the sandbox is the cluster the tests check.
import type { KubeConfig } from '@kubernetes/client-node';
import { applyCrds } from '../../../kube/src/client.ts';
import { loadManifestDir, type Manifest } from '../../../kube/src/manifests.ts';
import { ApiError, KubeRest } from '../../../kube/src/rest.ts';

/** KubeVirt's and CDI's CRDs, read from their folders. */
export function engineCrds(crdDirs: { kubevirt: string; cdi: string }): {
  kubevirt: Manifest[];
  cdi: Manifest[];
} {
  const read = (dir: string): Manifest[] => loadManifestDir(dir).map((m) => m.object);
  return { kubevirt: read(crdDirs.kubevirt), cdi: read(crdDirs.cdi) };
}

/** The CDIConfig CDI's controller makes (its admission reads it); the CDI CRDs are Established. */
export async function createCdiConfig(kc: KubeConfig): Promise<void> {
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
}

/** KubeVirt's and CDI's CRDs in one batch (with `extra`, vmplane's say), and the CDIConfig. */
export async function installEngineApis(
  kc: KubeConfig,
  crdDirs: { kubevirt: string; cdi: string },
  extra: Manifest[] = [],
): Promise<{ kubevirt: number; cdi: number }> {
  const { kubevirt, cdi } = engineCrds(crdDirs);
  await applyCrds(kc, [...extra, ...kubevirt, ...cdi]);
  await createCdiConfig(kc);
  return { kubevirt: kubevirt.length, cdi: cdi.length };
}
