// Small helpers shared by the CLI, the sandbox and the tests: kubeconfig, CRD install, applying manifests.
import { ApiextensionsV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadManifestDir, type Manifest } from './manifests.ts';
import { KubeRest, isNotFound } from './rest.ts';
import { isEstablished } from './conditions.ts';

export const FIELD_MANAGER = 'vmplane';

export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export function describeObject(m: {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}): string {
  const ns = m.metadata?.namespace ? `${m.metadata.namespace}/` : '';
  return `${m.kind}/${ns}${m.metadata?.name}`;
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}

/** Applies every CRD of a folder and waits until each is Established (served). */
export async function installCrds(kc: KubeConfig, dir: string): Promise<string[]> {
  const rest = new KubeRest(kc);
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  const crds = loadManifestDir(dir).map((m) => m.object);
  for (const crd of crds) {
    try {
      await rest.apply(crd, { fieldManager: FIELD_MANAGER });
    } catch (e) {
      throw new Error(`CRD ${crd.metadata.name} was refused: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  rest.close();
  const names = crds.map((c) => c.metadata.name);
  for (const name of names) {
    await waitUntil(`CRD ${name} to be Established`, async () =>
      isEstablished(await ext.readCustomResourceDefinition({ name })),
    );
  }
  return names;
}

/**
 * Applies manifests in order. Retries briefly on 404 for a kind whose CRD was just installed
 * (discovery catches up within a second or two); any other error fails at once.
 */
export async function applyManifests(
  kc: KubeConfig,
  manifests: Manifest[],
  opts: { dryRun?: boolean } = {},
): Promise<void> {
  const rest = new KubeRest(kc);
  try {
    await applyAll(rest, manifests, opts);
  } finally {
    rest.close();
  }
}

async function applyAll(
  rest: KubeRest,
  manifests: Manifest[],
  opts: { dryRun?: boolean },
): Promise<void> {
  for (const m of manifests) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await rest.apply(m, { fieldManager: FIELD_MANAGER, ...opts });
        break;
      } catch (e) {
        // A kind whose CRD was just installed is not served for a moment: discovery says 404.
        const notYetServed = isNotFound(e);
        if (!notYetServed || Date.now() > deadline)
          throw new Error(`${describeObject(m)}: ${(e as Error).message}`, { cause: e });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
