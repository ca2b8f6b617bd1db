// Small helpers shared by the CLI, the sandbox and the tests: kubeconfig, CRD install, applying manifests.
import { KubeConfig } from '@kubernetes/client-node';
import { loadManifestDir, type Manifest } from './manifests.ts';
import { KubeRest, isNotFound } from './rest.ts';

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
 * (served): discovery tells, per group version, instead of a read of each (large) CRD. Fails naming a
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
  await waitEstablished(kc, groups.flat(), timeoutMs);
  return groups.flat().map((c) => c.metadata.name);
}

/** The group versions a CRD serves, with its plural: where discovery lists it once Established. */
export function crdServedPaths(crd: Manifest): { path: string; plural: string }[] {
  const spec = crd.spec as {
    group?: string;
    names?: { plural?: string };
    versions?: { name: string; served?: boolean }[];
  };
  return (spec.versions ?? [])
    .filter((v) => v.served !== false)
    .map((v) => ({ path: `/apis/${spec.group}/${v.name}`, plural: spec.names?.plural ?? '' }));
}

/**
 * Waits until discovery lists every served version of each CRD: the API server's discovery lists
 * a CRD's resource only once the CRD is Established, and a group version's list is a few hundred
 * bytes where the CRDs themselves are megabytes (KubeVirt's schemas).
 */
async function waitEstablished(kc: KubeConfig, crds: Manifest[], timeoutMs: number): Promise<void> {
  const wanted = new Map<string, Set<string>>();
  for (const crd of crds)
    for (const { path, plural } of crdServedPaths(crd))
      wanted.set(path, (wanted.get(path) ?? new Set()).add(plural));
  const rest = new KubeRest(kc);
  try {
    await Promise.all(
      [...wanted].map(([path, plurals]) =>
        waitUntil(
          `CRDs ${[...plurals].join(', ')} to be Established (listed in ${path})`,
          async () => {
            const { body } = await rest.request<{ resources?: { name: string }[] }>('GET', path);
            const listed = new Set((body.resources ?? []).map((r) => r.name));
            return [...plurals].every((p) => listed.has(p));
          },
          timeoutMs,
          50,
        ),
      ),
    );
  } finally {
    rest.close();
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
