// StorageProfile controller: one StorageProfile per StorageClass, same name, created when the
// class appears and removed when it goes; its status says which access and volume modes disks get.
import type { KubernetesObject, V1StorageClass } from '@kubernetes/client-node';
import type { StorageProfile } from '../../../api/generated/types.ts';
import { ApiError, type KubeRest } from '../../../kube/src/rest.ts';
import { deleteExactly } from '../../../kube/src/ownership.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { profileStatus } from './profile.ts';
import { writeStatus } from '../../../kube/src/objects.ts';
import type { ClaimPropertySet, CloneStrategy } from '../../../api/src/provisioners.ts';
import { Labels, STORAGEPROFILE_MANAGER } from '../../../api/src/wellknown.ts';

const SC_PATH = '/apis/storage.k8s.io/v1/storageclasses';
const SP_PATH = '/apis/vmplane.io/v1alpha1/storageprofiles';

/** Creates the profile of a StorageClass; one made meanwhile (409) is read instead. */
async function createProfile(manager: Manager, sc: V1StorageClass): Promise<StorageProfile> {
  const name = sc.metadata?.name ?? '';
  try {
    return (
      await manager.rest.request<StorageProfile>('POST', SP_PATH, {
        // The profile carries its class's labels, so whatever selects the class selects it too.
        body: {
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'StorageProfile',
          metadata: {
            name,
            labels: { ...sc.metadata?.labels, [Labels.managedBy]: STORAGEPROFILE_MANAGER },
          },
          spec: {},
        },
      })
    ).body;
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
    return (await manager.rest.request<StorageProfile>('GET', `${SP_PATH}/${name}`)).body;
  }
}

/**
 * Whether a profile goes when its StorageClass does: vmplane made it, or it described a class
 * that existed (an administrator's profile made before its class is kept).
 */
export function goesWithClass(profile: Pick<StorageProfile, 'metadata' | 'status'>): boolean {
  return (
    profile.metadata.labels?.[Labels.managedBy] === STORAGEPROFILE_MANAGER ||
    !!profile.status?.storageClass
  );
}

/**
 * Deletes the profile decided on (`profile`, as read), with its UID as a precondition: a profile
 * deleted and made again under the same name since (an administrator's, before a new class) is
 * not the one decided on, and stays. True when it was deleted.
 */
export async function removeProfile(
  rest: KubeRest,
  profile: Pick<StorageProfile, 'metadata'>,
): Promise<boolean> {
  return deleteExactly(
    rest,
    `${SP_PATH}/${encodeURIComponent(profile.metadata.name ?? '')}`,
    profile.metadata.uid,
  );
}

export function storageProfileController(manager: Manager): ControllerDefinition {
  const classes = manager.informer<V1StorageClass>(SC_PATH);
  const profiles = manager.informer<StorageProfile & KubernetesObject>(SP_PATH);
  const byName = (o: KubernetesObject): string[] =>
    manager.inScope(o) ? [o.metadata?.name ?? ''] : [];

  return {
    name: 'storageprofile',
    watches: [
      { path: SC_PATH, keys: byName },
      { path: SP_PATH, keys: byName },
    ],
    allKeys: () => [
      ...new Set(
        [...classes.list(), ...profiles.list()]
          .filter((o) => manager.inScope(o))
          .map((o) => o.metadata?.name ?? ''),
      ),
    ],
    reconcile: async (name) => {
      const sc = classes.get(name);
      let profile = profiles.get(name) as StorageProfile | undefined;
      if (sc ? !manager.inScope(sc) : !manager.inScope(profile as KubernetesObject | undefined))
        return;
      if (!sc) {
        if (profile && goesWithClass(profile) && (await removeProfile(manager.rest, profile)))
          manager.log.info({ profile: name }, 'StorageProfile removed with its StorageClass');
        return;
      }
      profile ??= await createProfile(manager, sc);
      const status = profileStatus({
        storageClass: { name, provisioner: sc.provisioner, parameters: sc.parameters ?? {} },
        spec: profile.spec as {
          claimPropertySets?: ClaimPropertySet[];
          cloneStrategy?: CloneStrategy;
        },
        generation: profile.metadata.generation ?? 0,
        previousConditions: profile.status?.conditions,
        now: new Date().toISOString(),
      });
      await writeStatus(manager.rest, `${SP_PATH}/${name}`, profile.status, status);
      const recognized = status.conditions[0];
      if (recognized?.status === 'False') {
        await manager.event(
          { apiVersion: 'vmplane.io/v1alpha1', kind: 'StorageProfile', metadata: profile.metadata },
          'Warning',
          recognized.reason,
          recognized.message,
        );
      }
    },
  };
}
