// A handler that throws, seen through kube-apiserver: the webhook must answer with an error (not a
// denial), so that the API server applies the webhook's own failurePolicy. The policy webhook is
// registered with failurePolicy Ignore (a failure lets the policy in); the VM webhook with Fail (a
// failure refuses the VM, saying the webhook failed).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { createLoadFixtures } from '../support/admission-load.ts';

const scope = `f${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('failpol', SCOPE_LABEL);
  await createLoadFixtures(rest, scope);
  // Every validation throws; mutation works as usual.
  webhooks = await startScopedWebhooks(scope, {
    faults: { throwOn: (webhook) => webhook === 'validate' },
  });
}, 120_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  await rest
    ?.request('DELETE', `/apis/vmplane.io/v1alpha1/virtualmachinepolicies/ignored-${scope}`)
    .catch(() => undefined);
  rest?.close();
});

async function refusal(p: Promise<unknown>): Promise<ApiError | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
}

describe('a handler that throws', () => {
  it('lets the request through a webhook registered with failurePolicy Ignore', async () => {
    const e = await refusal(
      rest.create({
        apiVersion: API_VERSION,
        kind: 'VirtualMachinePolicy',
        metadata: { name: `ignored-${scope}`, labels: SCOPE_LABEL },
        spec: {
          validationActions: ['Deny'],
          match: { namespaceSelector: { matchLabels: { 'vmplane.io/none': scope } } },
          validations: [{ expression: 'true', message: 'never' }],
        },
      } as KubeObjectLike),
    );
    expect(e?.message).toBeUndefined();
  });

  it('refuses the request through a webhook registered with failurePolicy Fail, as a webhook failure', async () => {
    const e = await refusal(
      rest.create({
        apiVersion: API_VERSION,
        kind: 'VirtualMachine',
        metadata: { name: 'refused', namespace: ns },
        // Valid for the CRD's schema, which kube-apiserver checks before validating webhooks.
        spec: {
          className: `c-${scope}`,
          image: { name: `i-${scope}` },
          bootDisk: { storageClassName: `sc-${scope}` },
        },
      } as KubeObjectLike),
    );
    expect(e, 'the VM was created').toBeInstanceOf(ApiError);
    // The API server says it failed calling the webhook (its failurePolicy at work), with the error.
    expect(e?.message).toContain(`failed calling webhook "vm.validate.vmplane.io.${scope}"`);
    expect(e?.message).toContain('injected fault (test)');
    expect(e?.message).not.toContain('denied the request');
  });
});
