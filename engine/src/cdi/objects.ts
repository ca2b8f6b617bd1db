// The objects CDI itself publishes, as the engine plays CDI: a CDI CR `cdi` in phase Deployed
// (made only when the cluster has none: an installed CDI is never touched; labelled as the
// engine's and removed when it stops), CDIConfig's filesystem overhead, and a StorageProfile per
// StorageClass. Follows CDI v1.65 cdi-operator (the CR's status: sdkapi.Status) and
// pkg/controller/storageprofile-controller.go, config-controller.go.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { isSubset } from '../../../kube/src/objects.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import { isNotFound, type KubeRest } from '../../../kube/src/rest.ts';
import { MANAGED_BY } from '../api-server.ts';
import type { ClaimPropertySet } from './claim.ts';
import { CLASSES, PROFILES, type StorageClassObject } from './context.ts';
import { profileStatus } from './profiles.ts';

const CDI_CR = '/apis/cdi.kubevirt.io/v1beta1/cdis/cdi';
const CDI_CONFIG = '/apis/cdi.kubevirt.io/v1beta1/cdiconfigs/config';
/** CDI's default share of a filesystem volume kept for the filesystem itself. */
export const DEFAULT_OVERHEAD = '0.06';

const isOurs = (o: KubernetesObject | undefined): boolean =>
  o?.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
  MANAGED_BY['app.kubernetes.io/managed-by'];

/** The CDI CR, when the cluster has none; true when the engine made it. */
export async function ensureCdiCr(rest: KubeRest, version: string): Promise<boolean> {
  const list = await rest.request<{ items: unknown[] }>(
    'GET',
    '/apis/cdi.kubevirt.io/v1beta1/cdis',
  );
  if (list.body.items.length) return false;
  await rest.create({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'CDI',
    metadata: { name: 'cdi', labels: MANAGED_BY },
    spec: {},
  } as never);
  const now = `${new Date().toISOString().slice(0, 19)}Z`;
  const condition = (type: string, status: string, reason: string, message: string): object => ({
    type,
    status,
    reason,
    message,
    lastTransitionTime: now,
    lastHeartbeatTime: now,
  });
  // The CDI CRD has no status subresource: status is written with the object.
  await rest.request('PATCH', CDI_CR, {
    body: {
      status: {
        phase: 'Deployed',
        operatorVersion: version,
        targetVersion: version,
        observedVersion: version,
        conditions: [
          condition(
            'Available',
            'True',
            'LocalEngine',
            `This is not CDI: vmplane's local engine imports, clones and fills DataVolumes on this machine, playing CDI ${version}'s DataVolume controller and importer.`,
          ),
          condition('Progressing', 'False', 'LocalEngine', ''),
          condition('Degraded', 'False', 'LocalEngine', ''),
        ],
      },
    },
    contentType: 'application/merge-patch+json',
  });
  return true;
}

/** Removes the CDI CR, only if the engine made it. */
export async function removeCdiCr(rest: KubeRest): Promise<void> {
  const cr = await getLive<KubernetesObject>(rest, CDI_CR).catch(() => undefined);
  if (!cr || !isOurs(cr)) return;
  await rest
    .request('DELETE', CDI_CR, { body: { preconditions: { uid: cr.metadata?.uid } } })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** CDIConfig's status.filesystemOverhead, as CDI's config controller fills it when empty. */
export async function ensureConfigOverhead(rest: KubeRest): Promise<void> {
  const cfg = await getLive<{ status?: { filesystemOverhead?: object } }>(rest, CDI_CONFIG);
  if (!cfg || cfg.status?.filesystemOverhead) return;
  await rest
    .request('PATCH', CDI_CONFIG, {
      body: { status: { filesystemOverhead: { global: DEFAULT_OVERHEAD } } },
      contentType: 'application/merge-patch+json',
    })
    .catch(() => undefined);
}

interface Profile extends KubernetesObject {
  spec?: { claimPropertySets?: ClaimPropertySet[] };
  status?: object;
}

async function reconcileProfile(manager: Manager, played: string[], name: string): Promise<void> {
  const rest = manager.rest;
  const path = `${PROFILES}/${name}`;
  const cls = manager.informer<StorageClassObject>(CLASSES).get(name);
  const profile = await getLive<Profile>(rest, path);
  if (!cls) {
    if (profile && isOurs(profile))
      await rest.request('DELETE', path).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    return;
  }
  const wanted = profileStatus({
    className: name,
    provisioner: cls.provisioner,
    ...(profile?.spec?.claimPropertySets ? { specSets: profile.spec.claimPropertySets } : {}),
    played,
  });
  if (!wanted.ok) {
    manager.log.warn({ profile: name, err: wanted.message }, 'StorageProfile not updated');
    return;
  }
  if (!profile)
    await rest.create({
      apiVersion: 'cdi.kubevirt.io/v1beta1',
      kind: 'StorageProfile',
      metadata: { name, labels: { ...MANAGED_BY, 'app.kubernetes.io/component': 'storage' } },
      spec: {},
    } as never);
  if (profile && isSubset(wanted.status, profile.status ?? {})) return;
  await rest.request('PATCH', `${path}/status`, {
    body: { status: wanted.status },
    contentType: 'application/merge-patch+json',
  });
}

/** The StorageProfile controller: one profile per StorageClass, its status kept current. */
export function storageProfileController(
  manager: Manager,
  played: string[],
  /** Only these classes (tests sharing one API server keep to their own). */
  only: (className: string) => boolean = () => true,
): ControllerDefinition {
  const classes = manager.informer<StorageClassObject>(CLASSES);
  const keys = (o: KubernetesObject): string[] =>
    o.metadata?.name && only(o.metadata.name) ? [o.metadata.name] : [];
  manager.informer(PROFILES, { optional: true });
  return {
    name: 'local-engine-storageprofiles',
    concurrency: 1,
    watches: [
      { path: CLASSES, keys },
      { path: PROFILES, keys },
    ],
    allKeys: () => classes.list().flatMap(keys),
    reconcile: async (name) => {
      await reconcileProfile(manager, played, name);
    },
  };
}
