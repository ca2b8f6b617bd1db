// VM deletions pass a webhook only while a policy checks them: with none, a webhook outage does
// not block deleting VMs; a policy with DELETE registers the check within moments, and removing
// it takes the check away again.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import {
  startWebhooks,
  unregisterWebhooks,
  type RunningWebhooks,
} from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

const V = API_VERSION;
const scope = `d${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks | undefined;
let configNames = { mutating: '', validating: '' };

const start = async (): Promise<RunningWebhooks> =>
  startWebhooks({
    kc: kubeConfig(),
    namespace: `vmplane-${scope}`,
    register: { endpoint: 'self', scope },
    logger: pino({ level: 'silent' }),
  });

/** The rules of the VM DELETE webhook, as registered in the API server. */
async function deleteRules(): Promise<unknown[]> {
  const { body } = await rest.request<{ webhooks: { name: string; rules?: unknown[] }[] }>(
    'GET',
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${configNames.validating}`,
  );
  const hook = body.webhooks.find((w) => w.name === `vm-delete.validate.vmplane.io.${scope}`);
  if (!hook) throw new Error('no VM DELETE webhook registered');
  return hook.rules ?? [];
}

const vmPath = (name: string): string => `/apis/${V}/namespaces/${ns}/virtualmachines/${name}`;
const policyPath = `/apis/${V}/virtualmachinepolicies/protect-${scope}`;

async function createVm(name: string, labels: Record<string, string> = {}): Promise<void> {
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns, labels },
    spec: {
      className: `small-${scope}`,
      powerState: 'PoweredOff',
      disks: [
        {
          name: 'root',
          size: '1Gi',
          boot: true,
          storageClassName: 'x',
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Filesystem',
        },
      ],
    },
  } as KubeObjectLike);
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('del', SCOPE_LABEL);
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: `small-${scope}`, labels: SCOPE_LABEL },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  } as KubeObjectLike);
  await rest
    .create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'x' },
      provisioner: 'rbd.csi.ceph.com',
    } as KubeObjectLike)
    .catch((e: unknown) => {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
    });
  webhooks = await start();
  configNames = webhooks.configNames;
}, 60_000);

afterAll(async () => {
  await webhooks?.stop();
  await unregisterWebhooks(kubeConfig(), configNames);
  await rest.request('DELETE', policyPath).catch(() => undefined);
  rest.close();
});

describe('the VM DELETE webhook', () => {
  it('is not registered while no policy checks deletions, so an outage does not block them', async () => {
    expect(await deleteRules()).toEqual([]);
    await createVm('plain');
    // The webhook goes away (its configurations stay, failing closed for CREATE and UPDATE).
    await webhooks?.stop();
    webhooks = undefined;
    await expect(createVm('refused')).rejects.toThrow(/failed calling webhook/);
    // Accepted: the VM is marked for deletion (its cleanup finalizer is the controllers' part).
    await rest.request('DELETE', vmPath('plain'));
    const { body } = await rest.request<{ metadata: { deletionTimestamp?: string } }>(
      'GET',
      vmPath('plain'),
    );
    expect(body.metadata.deletionTimestamp).toBeDefined();
    await rest.request('PATCH', vmPath('plain'), {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
  });

  it('is registered while a policy checks DELETE, enforces it, and goes when the policy goes', async () => {
    webhooks = await start();
    await createVm('precious', { protected: 'true' });
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachinePolicy',
      metadata: { name: `protect-${scope}`, labels: SCOPE_LABEL },
      spec: {
        validationActions: ['Deny'],
        match: {
          operations: ['DELETE'],
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
        },
        validations: [
          {
            expression: "oldObject.metadata.labels['protected'] != 'true'",
            message: 'protected VMs cannot be deleted',
          },
        ],
      },
    } as KubeObjectLike);
    await waitUntil('the DELETE rule', async () => (await deleteRules()).length > 0, 15_000, 100);
    const refused = await rest.request('DELETE', vmPath('precious')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).message).toContain('protected VMs cannot be deleted');

    await rest.request('DELETE', policyPath);
    await waitUntil('no DELETE rule', async () => (await deleteRules()).length === 0, 15_000, 100);
    await rest.request('DELETE', vmPath('precious'));
    await rest.request('PATCH', vmPath('precious'), {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
  });
});
