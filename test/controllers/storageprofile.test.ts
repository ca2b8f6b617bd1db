// StorageProfiles from a real API server: one per StorageClass, modes from the provisioner table,
// an unknown provisioner flagged (condition and Event), an administrator's override taking effect.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { goesWithClass, removeProfile } from '../../controllers/src/storage/controller.ts';
import type { StorageProfile } from '../../api/generated/types.ts';
import { Labels, STORAGEPROFILE_MANAGER } from '../../api/src/wellknown.ts';
import { kubeConfig } from '../support/cluster.ts';

const scope = `sp${randomBytes(3).toString('hex')}`;
const LABEL: [string, string] = ['vmplane.io/test-scope', scope];
let rest: KubeRest;
let ctl: RunningControllers;

interface Profile {
  metadata: { generation: number };
  spec?: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    provisioner?: string;
    claimPropertySets?: { accessModes: string[]; volumeMode: string }[];
    cloneStrategy?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const sc = (
  name: string,
  provisioner: string,
  parameters: Record<string, string> = {},
): Parameters<KubeRest['create']>[0] => ({
  apiVersion: 'storage.k8s.io/v1',
  kind: 'StorageClass',
  metadata: { name: `${name}-${scope}`, labels: { [LABEL[0]]: LABEL[1] } },
  provisioner,
  parameters,
});

async function profile(
  name: string,
  ready: (p: Profile) => boolean = (p) => !!p.status?.conditions,
): Promise<Profile> {
  return waitUntil(
    `StorageProfile ${name}`,
    async () => {
      const p = await getLive<Profile>(
        rest,
        `/apis/vmplane.io/v1alpha1/storageprofiles/${name}-${scope}`,
      );
      return p && ready(p) ? p : undefined;
    },
    30_000,
    100,
  );
}

const sets = (p: Profile): string[] =>
  (p.status?.claimPropertySets ?? []).map((s) => `${s.accessModes.join('+')} ${s.volumeMode}`);

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ctl = await startControllers({
    kc: kubeConfig(),
    scope: { namespaces: [], clusterLabel: LABEL },
    logger: pino({ level: 'silent' }),
  });
}, 60_000);
afterAll(async () => {
  await ctl.stop();
  rest.close();
});

describe('StorageProfile controller', () => {
  it.each([
    [
      'ceph-rbd',
      'rbd.csi.ceph.com',
      {},
      ['ReadWriteMany Block', 'ReadWriteOnce Block', 'ReadWriteOnce Filesystem'],
      'csi-clone',
    ],
    [
      'cephfs',
      'cephfs.csi.ceph.com',
      {},
      ['ReadWriteMany Filesystem', 'ReadWriteOnce Filesystem'],
      'csi-clone',
    ],
    ['nfs', 'nfs.csi.k8s.io', {}, ['ReadWriteMany Filesystem'], 'copy'],
    [
      'ebs-io2',
      'ebs.csi.aws.com',
      { type: 'io2' },
      ['ReadWriteMany Block', 'ReadWriteOnce Block'],
      'snapshot',
    ],
    ['ebs-gp3', 'ebs.csi.aws.com', { type: 'gp3' }, ['ReadWriteOnce Block'], 'snapshot'],
    [
      'gke-pd',
      'pd.csi.storage.gke.io',
      {},
      ['ReadWriteOnce Block', 'ReadWriteOnce Filesystem'],
      'snapshot',
    ],
    [
      'longhorn-migratable',
      'driver.longhorn.io',
      { migratable: 'true' },
      ['ReadWriteMany Block'],
      'csi-clone',
    ],
    ['local-path', 'rancher.io/local-path', {}, ['ReadWriteOnce Filesystem'], 'copy'],
    [
      'portworx',
      'pxd.portworx.com',
      {},
      [
        'ReadWriteMany Filesystem',
        'ReadWriteMany Block',
        'ReadWriteOnce Filesystem',
        'ReadWriteOnce Block',
      ],
      'csi-clone',
    ],
  ] as const)(
    'creates the profile for %s (%s) with what the provisioner supports',
    async (name, provisioner, params, want, clone) => {
      await rest.create(sc(name, provisioner, params));
      const p = await profile(name);
      expect(sets(p)).toEqual(want);
      expect(p.status?.cloneStrategy).toBe(clone);
      expect(p.status?.provisioner).toBe(provisioner);
      expect(p.status?.conditions).toContainEqual(
        expect.objectContaining({ type: 'Recognized', status: 'True', reason: 'KnownProvisioner' }),
      );
    },
  );

  it('flags an unknown provisioner with an actionable condition and an Event', async () => {
    await rest.create(sc('mystery', 'block.csi.example.com'));
    const p = await profile('mystery');
    expect(sets(p)).toEqual([]);
    const cond = p.status?.conditions?.find((c) => c.type === 'Recognized');
    expect(cond).toMatchObject({ status: 'False', reason: 'UnrecognizedProvisioner' });
    expect(cond?.message).toContain('set spec.claimPropertySets');
    const events = await waitUntil('the Event', async () => {
      const r = await rest.request<{
        items: {
          reason: string;
          message: string;
          involvedObject: { kind: string; name: string };
        }[];
      }>(
        'GET',
        `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=mystery-${scope}`,
      );
      return r.body.items.length ? r.body.items : undefined;
    });
    expect(events[0]).toMatchObject({
      reason: 'UnrecognizedProvisioner',
      involvedObject: { kind: 'StorageProfile', name: `mystery-${scope}` },
    });
  });

  it("takes an administrator's override without a restart", async () => {
    await rest.request('PATCH', `/apis/vmplane.io/v1alpha1/storageprofiles/mystery-${scope}`, {
      body: {
        spec: {
          claimPropertySets: [{ accessModes: ['ReadWriteMany'], volumeMode: 'Block' }],
          cloneStrategy: 'snapshot',
        },
      },
      contentType: 'application/merge-patch+json',
    });
    const p = await profile(
      'mystery',
      (x) => x.status?.conditions?.some((c) => c.reason === 'SpecOverride') ?? false,
    );
    expect(sets(p)).toEqual(['ReadWriteMany Block']);
    expect(p.status?.cloneStrategy).toBe('snapshot');
    expect(p.status?.observedGeneration).toBe(p.metadata.generation);
  });

  it('removes the profile when its StorageClass goes', async () => {
    await rest.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/nfs-${scope}`);
    await waitUntil('the profile to go', async () => {
      try {
        await rest.get({
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'StorageProfile',
          metadata: { name: `nfs-${scope}` },
        });
        return undefined;
      } catch (e) {
        return e instanceof ApiError && e.code === 404 ? true : undefined;
      }
    });
  });

  it('deletes only the profile it decided on: a namesake made since the read stays', async () => {
    // No scope label: the running controller leaves these alone; the I/O function is driven
    // directly, with the read and the delete split by someone else's delete-and-create.
    const path = `/apis/vmplane.io/v1alpha1/storageprofiles/gone-${scope}`;
    const body = (labels: Record<string, string>) => ({
      body: {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'StorageProfile',
        metadata: { name: `gone-${scope}`, labels },
        spec: {},
      },
    });
    const read = (
      await rest.request<StorageProfile>(
        'POST',
        '/apis/vmplane.io/v1alpha1/storageprofiles',
        body({ [Labels.managedBy]: STORAGEPROFILE_MANAGER }),
      )
    ).body;
    expect(goesWithClass(read)).toBe(true);
    await rest.request('DELETE', path);
    const theirs = (
      await rest.request<StorageProfile>(
        'POST',
        '/apis/vmplane.io/v1alpha1/storageprofiles',
        body({ owner: 'someone-else' }),
      )
    ).body;
    try {
      expect(await removeProfile(rest, read)).toBe(false);
      const left = await getLive<StorageProfile>(rest, path);
      expect(left?.metadata.uid, "the namesake's UID").toBe(theirs.metadata.uid);
    } finally {
      await rest.request('DELETE', path).catch(() => undefined);
    }
  });
});
