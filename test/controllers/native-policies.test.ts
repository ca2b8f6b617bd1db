// Native enforcement through the real kube-apiserver: the controllers generate a
// ValidatingAdmissionPolicy and binding for a policy whose rules can run in the API server, keep
// them as generated, remove them with the policy or its switch; the verdict and the policy's
// message are the same with generation on and off; with vmplane's webhook gone the API server
// still enforces the native rules.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import {
  startControllers,
  type ControllerOptions,
  type RunningControllers,
} from '../../controllers/src/main.ts';
import { BINDINGS, VAPS } from '../../controllers/src/policy/native.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { nativeName } from '../../policy/src/native/plan.ts';
import { unregisterWebhooks, type RunningWebhooks } from '../../webhooks/src/main.ts';
import { vm as buildVm } from '../support/builders.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';

const scope = `n${randomBytes(3).toString('hex')}`;
const SCOPE = { 'vmplane.io/webhook-scope': scope };
const n = (s: string): string => `${s}-${scope}`;
const POLICIES = '/apis/vmplane.io/v1alpha1/virtualmachinepolicies';
const MESSAGE = 'suspended VMs hold memory on their node';
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks | undefined;
let controllers: RunningControllers;
const cluster: KubeObjectLike[] = [
  {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name: n('small'), labels: SCOPE },
    spec: { hardware: { cpus: 2, memory: '4Gi' } },
  },
  {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name: n('big'), labels: SCOPE },
    spec: { hardware: { cpus: 16, memory: '64Gi' } },
  },
  {
    apiVersion: API_VERSION,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: n('ubuntu'), labels: SCOPE },
    spec: { source: { http: { url: 'https://x/u.img' } }, size: '10Gi' },
  },
  {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: n('sc'), labels: SCOPE },
    provisioner: 'rbd.csi.ceph.com',
  },
];

/** One CEL rule over the VM alone (native) and one built-in rule reading the class (webhook). */
function policy(name: string, extra: Partial<VirtualMachinePolicy['spec']> = {}): KubeObjectLike {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachinePolicy',
    metadata: { name: n(name), labels: SCOPE },
    spec: {
      match: { namespaceSelector: { matchLabels: { 'native-test': scope } } },
      validationActions: ['Deny'],
      rules: { maxCPUs: 8 },
      validations: [
        {
          name: 'not-suspended',
          expression: "object.spec.powerState != 'Suspended'",
          message: MESSAGE,
        },
      ],
      ...extra,
    },
  };
}

function vm(name: string, className: string, powerState?: string): KubeObjectLike {
  const spec = {
    className,
    image: { name: n('ubuntu') },
    bootDisk: { storageClassName: n('sc') },
    ...(powerState ? { powerState } : {}),
  };
  return buildVm(name, spec as never, { namespace: ns }) as unknown as KubeObjectLike;
}

/** What the API server says to a dry-run create: 'admitted', or its message. */
async function verdict(o: KubeObjectLike): Promise<string> {
  try {
    await rest.create(o, { dryRun: true });
    return 'admitted';
  } catch (e) {
    if (e instanceof ApiError) return e.message;
    throw e;
  }
}

/** The policy's part of a denial, without the API server's prefix (webhook's or VAP's). */
const policyPart = (message: string): string =>
  message.slice(message.indexOf('policy "')).replace(/^(.*?)\s*$/, '$1');

type Json = Record<string, unknown> & { spec?: Record<string, unknown> };
const getVap = (name: string): Promise<Json | undefined> => getLive<Json>(rest, `${VAPS}/${name}`);
const getBinding = (name: string): Promise<Json | undefined> =>
  getLive<Json>(rest, `${BINDINGS}/${name}`);
const getPolicy = (name: string): Promise<VirtualMachinePolicy | undefined> =>
  getLive<VirtualMachinePolicy>(rest, `${POLICIES}/${name}`);

/** Waits until status.enforcement is written for the policy's current generation. */
async function enforcement(
  name: string,
): Promise<NonNullable<NonNullable<VirtualMachinePolicy['status']>['enforcement']>> {
  return waitUntil(
    `status.enforcement of ${name} for its generation`,
    async () => {
      const p = await getPolicy(name);
      const e = p?.status?.enforcement;
      return e && e.observedGeneration === p.metadata.generation ? e : undefined;
    },
    30_000,
    200,
  );
}

/** Waits until the webhook's cache has the policy's current status (it skips native rules then). */
async function webhookSees(name: string): Promise<void> {
  const live = await getPolicy(name);
  await waitUntil(`the webhook to see ${name}'s status`, async () =>
    webhooks?.cache
      .policies()
      .some(
        (p) =>
          p.metadata.name === name && p.metadata.resourceVersion === live?.metadata.resourceVersion,
      ),
  );
}

function controllerOptions(): ControllerOptions {
  return {
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    // No namespace: only the policies (cluster-scoped, with the scope's label) are reconciled.
    scope: { namespaces: [], clusterLabel: ['vmplane.io/webhook-scope', scope] },
    namespace: `vmplane-${scope}`,
  };
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('native', { ...SCOPE, 'native-test': scope });
  for (const o of cluster) await rest.create(o);
  // Verdicts, not speed: a loaded machine must not turn the webhook's verdict into a time-budget error.
  webhooks = await startScopedWebhooks(scope, { celTimeBudgetMs: 5_000 });
  controllers = await startControllers(controllerOptions());
}, 120_000);

afterAll(async () => {
  await controllers?.stop();
  await stopScopedWebhooks(webhooks);
  const names = ['on', 'warn', 'global', 'fail-open'];
  for (const p of names) await rest.request('DELETE', `${POLICIES}/${n(p)}`).catch(() => undefined);
  for (const path of [VAPS, BINDINGS])
    for (const p of names)
      await rest.request('DELETE', `${path}/${nativeName(n(p), scope)}`).catch(() => undefined);
  for (const o of cluster) await rest.delete(o).catch(() => undefined);
  await rest.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest.close();
});

describe('native enforcement', () => {
  const name = nativeName(n('on'), scope);

  it('(a) a qualifying policy gets its ValidatingAdmissionPolicy, binding and status.enforcement', async () => {
    await rest.create(policy('on'));
    const e = await enforcement(n('on'));
    expect(e).toMatchObject({ admissionPolicy: name, native: ['not-suspended'] });
    expect(e.webhook?.map((w) => w.rule)).toContain('maxCPUs');
    const [vap, binding] = [await getVap(name), await getBinding(name)];
    for (const o of [vap, binding])
      expect(o?.metadata).toMatchObject({
        labels: { 'app.kubernetes.io/managed-by': 'vmplane', ...SCOPE },
        ownerReferences: [{ kind: 'VirtualMachinePolicy', name: n('on'), controller: true }],
      });
    expect(binding?.spec).toMatchObject({ policyName: name, validationActions: ['Deny'] });
  });

  it('(b) a manual edit of the generated policy or binding is reverted', async () => {
    const vap = (await getVap(name)) as Json;
    const spec = vap.spec as { validations: { expression: string }[] };
    const generated = spec.validations[0]?.expression;
    await rest.request('PUT', `${VAPS}/${name}`, {
      body: { ...vap, spec: { ...spec, validations: [{ expression: 'true' }] } },
    });
    await waitUntil('the edited ValidatingAdmissionPolicy to be reverted', async () => {
      const now = (await getVap(name))?.spec as typeof spec | undefined;
      return now?.validations.length === 1 && now.validations[0]?.expression === generated
        ? true
        : undefined;
    });
    const binding = (await getBinding(name)) as Json;
    await rest.request('PUT', `${BINDINGS}/${name}`, {
      body: { ...binding, spec: { ...binding.spec, validationActions: ['Audit'] } },
    });
    await waitUntil('the edited binding to be reverted', async () => {
      const now = (await getBinding(name))?.spec as { validationActions?: string[] } | undefined;
      return now?.validationActions?.join() === 'Deny' ? true : undefined;
    });
    // And the API server enforces the rule again, with the status back on the native rules.
    // (While the edit is being fixed, the status hands every rule back to the webhook.)
    await waitUntil('the status to name the native rule again', async () =>
      (await enforcement(n('on'))).native?.join() === 'not-suspended' ? true : undefined,
    );
    await waitUntil('the reverted policy to deny again', async () =>
      (await verdict(vm('sleepy', n('small'), 'Suspended'))).includes(
        `ValidatingAdmissionPolicy '${name}'`,
      )
        ? true
        : undefined,
    );
  });

  it('(e) generation on and off: the same verdict and the same policy message for a violating VM', async () => {
    await webhookSees(n('on'));
    // The API server takes in a new binding a moment after the status says native (longer on a
    // loaded machine): wait for its own denial (docs/controllers.md, the window after a change).
    const on = await waitUntil('the API server to enforce the generated policy', async () => {
      const v = await verdict(vm('sleepy', n('small'), 'Suspended'));
      return v.includes(`ValidatingAdmissionPolicy '${name}'`) ? v : undefined;
    });
    expect(on).toContain(`ValidatingAdmissionPolicy '${name}'`);
    expect(on).toContain(`policy "${n('on')}" rule not-suspended: ${MESSAGE}`);
    // The webhook rule still runs in the webhook.
    const big = await verdict(vm('huge', n('big')));
    expect(big).toContain(`admission webhook "vm.validate.vmplane.io.${scope}" denied the request`);
    expect(big).toContain(`policy "${n('on')}" rule maxCPUs: 16 vCPUs`);
    expect(await verdict(vm('fine', n('small')))).toBe('admitted');

    // (c) Disabled: the generated objects go, everything is back in the webhook, same verdicts.
    await rest.request('PATCH', `${POLICIES}/${n('on')}`, {
      body: { spec: { nativeEnforcement: 'Disabled' } },
      contentType: 'application/merge-patch+json',
    });
    const off = await enforcement(n('on'));
    expect(off.native).toEqual([]);
    expect(off.admissionPolicy).toBeUndefined();
    expect(off.webhook).toContainEqual({
      rule: 'not-suspended',
      reason: 'spec.nativeEnforcement is Disabled',
    });
    // The status hands the rules back first, then the objects are deleted.
    await waitUntil('the generated objects to go', async () =>
      !(await getVap(name)) && !(await getBinding(name)) ? true : undefined,
    );
    await webhookSees(n('on'));
    // The API server drops a deleted VAP about a second later (both deny meanwhile).
    const offVerdict = await waitUntil('the webhook alone to deny', async () => {
      const v = await verdict(vm('sleepy', n('small'), 'Suspended'));
      return v.includes(`admission webhook "vm.validate.vmplane.io.${scope}" denied`)
        ? v
        : undefined;
    });
    expect(policyPart(offVerdict)).toBe(policyPart(on));
    expect(policyPart(await verdict(vm('huge', n('big'))))).toBe(policyPart(big));
    expect(await verdict(vm('fine', n('small')))).toBe('admitted');
  });

  it('(c) deleting the policy removes its generated objects', async () => {
    await rest.request('PATCH', `${POLICIES}/${n('on')}`, {
      body: { spec: { nativeEnforcement: 'Auto' } },
      contentType: 'application/merge-patch+json',
    });
    expect((await enforcement(n('on'))).admissionPolicy).toBe(name);
    await rest.request('DELETE', `${POLICIES}/${n('on')}`);
    await waitUntil('the generated objects to be deleted with the policy', async () =>
      !(await getVap(name)) && !(await getBinding(name)) ? true : undefined,
    );
  });

  it('(f) each rule is evaluated once: a Warn policy warns once, from the API server; the webhook skips it', async () => {
    await rest.create(policy('warn', { validationActions: ['Warn'], rules: {} }));
    const vapName = nativeName(n('warn'), scope);
    expect((await enforcement(n('warn'))).native).toEqual(['not-suspended']);
    await webhookSees(n('warn'));
    const warnings = async (): Promise<string[]> => {
      const { headers } = await rest.request(
        'POST',
        `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines?dryRun=All`,
        {
          body: vm('sleepy', n('small'), 'Suspended'),
        },
      );
      const w = headers.warning;
      return (Array.isArray(w) ? w.join(', ') : (w ?? ''))
        .split(`rule not-suspended: ${MESSAGE}`)
        .slice(1);
    };
    const header = (
      await rest.request(
        'POST',
        `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines?dryRun=All`,
        {
          body: vm('sleepy', n('small'), 'Suspended'),
        },
      )
    ).headers.warning;
    expect(String(header)).toContain(`ValidatingAdmissionPolicy '${vapName}'`);
    expect(await warnings()).toHaveLength(1);
    await rest.request('DELETE', `${POLICIES}/${n('warn')}`);
  });

  it('(c) with generation off for the cluster, the generated objects go and every rule is in the webhook', async () => {
    await rest.create(policy('global'));
    const vapName = nativeName(n('global'), scope);
    expect((await enforcement(n('global'))).admissionPolicy).toBe(vapName);
    await controllers.stop();
    controllers = await startControllers({ ...controllerOptions(), nativePolicies: false });
    await waitUntil('the generated objects to be deleted with generation off', async () =>
      !(await getVap(vapName)) && !(await getBinding(vapName)) ? true : undefined,
    );
    await waitUntil('the status to say generation is off', async () => {
      const e = await enforcement(n('global'));
      return e.native?.length === 0 && e.message?.includes('nativePolicies') ? true : undefined;
    });
    await controllers.stop();
    controllers = await startControllers(controllerOptions());
    await waitUntil('generation to be back on', async () =>
      (await enforcement(n('global'))).native?.join() === 'not-suspended' && (await getVap(vapName))
        ? true
        : undefined,
    );
    await rest.request('DELETE', `${POLICIES}/${n('global')}`);
    await waitUntil('the generated objects to be deleted with the policy', async () =>
      !(await getVap(vapName)) && !(await getBinding(vapName)) ? true : undefined,
    );
  });

  it('(d) with the webhook down, native rules still deny; webhook rules fail as registered', async () => {
    await rest.create(policy('fail-open'));
    const vapName = nativeName(n('fail-open'), scope);
    expect((await enforcement(n('fail-open'))).admissionPolicy).toBe(vapName);
    const configs = webhooks!.configNames;
    // Stopped, still registered: the API server calls a closed port.
    await webhooks!.stop();
    webhooks = undefined;
    try {
      // failurePolicy Fail: nothing gets through without the webhook.
      const closed = await verdict(vm('fine', n('small')));
      expect(closed).toMatch(/failed calling webhook "vm\.(mutate|validate)\.vmplane\.io/);
      // failurePolicy Ignore: the webhook rules are not enforced; the native ones still are.
      for (const [kind, cfg] of [
        ['mutatingwebhookconfigurations', configs.mutating],
        ['validatingwebhookconfigurations', configs.validating],
      ] as const) {
        const path = `/apis/admissionregistration.k8s.io/v1/${kind}/${cfg}`;
        const { body } = await rest.request<{ webhooks: unknown[] }>('GET', path);
        await rest.request('PATCH', path, {
          body: body.webhooks.map((_, i) => ({
            op: 'replace',
            path: `/webhooks/${i}/failurePolicy`,
            value: 'Ignore',
          })),
          contentType: 'application/json-patch+json',
        });
      }
      const denied = await verdict(vm('sleepy', n('small'), 'Suspended'));
      expect(denied).toContain(`ValidatingAdmissionPolicy '${vapName}'`);
      expect(denied).toContain(`policy "${n('fail-open')}" rule not-suspended: ${MESSAGE}`);
      expect(await verdict(vm('huge', n('big')))).toBe('admitted');
    } finally {
      await unregisterWebhooks(kubeConfig(), configs);
    }
  });
});
