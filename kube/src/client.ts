// Small helpers shared by the CLI, the sandbox and the tests: kubeconfig, CRD install, applying manifests.
import { KubeConfig, Watch } from '@kubernetes/client-node';
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
  return applyCrds(
    kc,
    loadManifestDir(dir).map((m) => m.object),
  );
}

/**
 * Applies CRDs all at once (or group after group, each at once, when given groups: a client that
 * looks for one API once another is served finds it) and waits until each is Established
 * (served): one watch of the CRDs tells, instead of a read per CRD every so often. Fails naming a
 * CRD the API server refuses, or those not Established within `timeoutMs`.
 */
export async function applyCrds(
  kc: KubeConfig,
  crds: Manifest[] | Manifest[][],
  timeoutMs = 30_000,
): Promise<string[]> {
  const groups =
    crds.length > 0 && Array.isArray(crds[0]) ? (crds as Manifest[][]) : [crds as Manifest[]];
  const rest = new KubeRest(kc);
  try {
    for (const group of groups)
      await Promise.all(
        group.map((crd) =>
          rest.apply(crd, { fieldManager: FIELD_MANAGER }).catch((e: Error) => {
            throw new Error(`CRD ${crd.metadata.name} was refused: ${e.message}`, { cause: e });
          }),
        ),
      );
  } finally {
    rest.close();
  }
  const names = groups.flat().map((c) => c.metadata.name);
  await waitEstablished(kc, names, timeoutMs);
  return names;
}

/**
 * Watches CRDs (the watch starts with the current state of each, then every change) until every
 * name is Established; a watch that ends early is started again.
 */
async function waitEstablished(kc: KubeConfig, names: string[], timeoutMs: number): Promise<void> {
  const waiting = new Set(names);
  const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (waiting.size > 0) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000} s waiting for CRDs to be Established: ${[...waiting].join(', ')}${lastError ? ` (${(lastError as Error).message})` : ''}`,
      );
    await new Promise<void>((resolve) => {
      let req: { abort(): void } | undefined;
      let finished = false;
      const done = (): void => {
        finished = true;
        clearTimeout(timer);
        req?.abort();
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
      new Watch(kc)
        .watch(
          path,
          { timeoutSeconds: Math.ceil(timeoutMs / 1000) },
          (_type, crd: { metadata?: { name?: string } }) => {
            if (isEstablished(crd) && crd.metadata?.name) waiting.delete(crd.metadata.name);
            if (waiting.size === 0) done();
          },
          (e: unknown) => {
            if (e) lastError = e;
            // Ended (or failed): look again after a moment, unless all are there.
            setTimeout(done, waiting.size === 0 ? 0 : 100);
          },
        )
        .then((r) => {
          req = r;
          if (finished) r.abort();
        })
        .catch((e: unknown) => {
          lastError = e;
          setTimeout(done, 100);
        });
    });
  }
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
