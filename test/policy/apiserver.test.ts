// Guardrail policies as kubectl users and policy teams meet them, through the real kube-apiserver:
// Deny blocks, Warn warns, Audit reports, exceptions waive (and say so), bad CEL never gets in.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { PolicyAuditor } from '../../controllers/src/policy/audit.ts';
import { REPORT_NAME } from '../../controllers/src/policy/report.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { loadManifestDir } from '../../kube/src/manifests.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import type { Lookups } from '../../kube/src/lookups.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { type RunningWebhooks } from '../../webhooks/src/main.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { vm as buildVm } from '../support/builders.ts';

const scope = `p${randomBytes(3).toString('hex')}`;
const SCOPE = { 'vmplane.io/webhook-scope': scope };
const V = API_VERSION;
const n = (s: string): string => `${s}-${scope}`;
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;
let auditor: PolicyAuditor;
const decisions: { name?: string; notes?: string[]; outcome?: string }[] = [];

const json = (o: unknown): string => JSON.stringify(o);
const inScope = { namespaceSelector: { matchLabels: { 'policy-test': scope } } };

function vm(
  name: string,
  className: string,
  extra: Record<string, unknown> = {},
  labels: Record<string, string> = { owner: 'team-a' },
): KubeObjectLike {
  const spec = {
    className,
    image: { name: n('ubuntu') },
    bootDisk: { storageClassName: n('sc') },
    ...extra,
  };
  return buildVm(name, spec, { namespace: ns, labels }) as unknown as KubeObjectLike;
}

function policy(name: string, spec: Record<string, unknown>): KubeObjectLike {
  return {
    apiVersion: V,
    kind: 'VirtualMachinePolicy',
    metadata: { name: n(name), labels: SCOPE },
    spec: { match: inScope, ...spec },
  };
}

interface Report {
  summary: Record<string, number>;
  results: {
    policy: string;
    rule: string;
    result: string;
    message: string;
    resources: { name: string }[];
    properties?: Record<string, string>;
  }[];
}

function report(): Promise<Report | undefined> {
  return getLive<Report>(
    rest,
    `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports/${REPORT_NAME}`,
  );
}

async function waitForResult(
  vmName: string,
  policyName: string,
  result: string,
): Promise<Report['results'][number]> {
  return waitUntil(
    `the report to show ${vmName} ${result} for ${policyName}`,
    async () =>
      (await report())?.results.find(
        (r) => r.resources[0]?.name === vmName && r.policy === policyName && r.result === result,
      ),
    30_000,
    200,
  );
}

/**
 * The cluster as this file's audit sees it: its namespace, its policies and its own cluster-wide
 * objects. The API server is shared with test files running side by side; their VMs, classes and
 * policies would otherwise trigger this audit's scans and fill its reports.
 */
function ownWorld(c: Lookups): Lookups {
  const mine = (o: { metadata?: { name?: string } }): boolean =>
    (o.metadata?.name ?? '').endsWith(`-${scope}`);
  return {
    namespace: (name) => c.namespace(name),
    classes: () => c.classes().filter(mine),
    vmClass: (name) => c.vmClass(name),
    namespacedImages: (namespace) => c.namespacedImages(namespace),
    clusterImages: () => c.clusterImages().filter(mine),
    storageClasses: () => c.storageClasses(),
    storageProfile: (name) => c.storageProfile(name),
    disk: (namespace, name) => c.disk(namespace, name),
    disks: (namespace) => c.disks(namespace ?? ns),
    vms: (namespace) => c.vms(namespace ?? ns),
    policies: () =>
      c.policies().filter((p) => p.metadata.labels?.['vmplane.io/webhook-scope'] === scope),
    exceptions: (namespace) => c.exceptions(namespace ?? ns),
  };
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('pol', { ...SCOPE, 'policy-test': scope });
  for (const f of [
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: n('small') },
      spec: { hardware: { cpus: 2, memory: '4Gi' } },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: n('big') },
      spec: { hardware: { cpus: 16, memory: '64Gi' }, reservation: 'Guaranteed' },
    },
    {
      apiVersion: V,
      kind: 'ClusterVirtualMachineImage',
      metadata: { name: n('ubuntu') },
      spec: { source: { http: { url: 'https://x/u.img' } }, size: '10Gi' },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: n('sc') },
      provisioner: 'rbd.csi.ceph.com',
    },
  ] as KubeObjectLike[]) {
    await rest.create(f);
  }
  webhooks = await startScopedWebhooks(scope, {
    logger: pino(
      { level: 'info' },
      { write: (l: string) => void decisions.push(JSON.parse(l) as (typeof decisions)[number]) },
    ),
  });
  const cache = webhooks.cache;
  auditor = new PolicyAuditor({
    kc: kubeConfig(),
    lookups: ownWorld(cache),
    onChange: (h) => cache.onChange(['policies', 'exceptions', 'vms'], h),
    debounceMs: 200,
    intervalMs: 60_000,
  });
  auditor.start();
}, 120_000);

afterAll(async () => {
  await auditor.stop();
  await stopScopedWebhooks(webhooks);
  rest.close();
});

async function policyIsCached(name: string): Promise<void> {
  await waitUntil(`the webhook to see policy ${name}`, async () =>
    webhooks.cache.policies().some((p) => p.metadata.name === name),
  );
}

describe('policies through kube-apiserver', () => {
  it('Deny blocks kubectl apply with the policy, rule and message', async () => {
    expect(
      (
        await kubectl(
          ['apply', '-f', '-'],
          json(policy('deny-big', { validationActions: ['Deny'], rules: { maxCPUs: 8 } })),
        )
      ).stderr,
    ).toBe('');
    await policyIsCached(n('deny-big'));
    const r = await kubectl(['apply', '-f', '-'], json(vm('huge', n('big'))));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `admission webhook "vm.validate.vmplane.io.${scope}" denied the request: policy "${n('deny-big')}" rule maxCPUs: 16 vCPUs (class "${n('big')}") exceed the maximum of 8`,
    );
    expect((await kubectl(['get', 'vmpvm', 'huge', '-n', ns])).stderr).toContain('NotFound');
  });

  it('refuses an update that only removes an annotation a Deny policy requires', async () => {
    await rest.create(
      policy('need-team', {
        validationActions: ['Deny'],
        rules: { requiredAnnotations: [{ key: 'team' }] },
      }),
    );
    await policyIsCached(n('need-team'));
    const annotated = vm('annotated', n('small'));
    annotated.metadata!.annotations = { team: 'a' };
    expect((await kubectl(['apply', '-f', '-'], json(annotated))).stderr).toBe('');
    const r = await kubectl(['annotate', 'vmpvm', 'annotated', '-n', ns, 'team-']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`policy "${n('need-team')}" rule requiredAnnotations:`);
    const live = await getLive<{ metadata: { annotations?: Record<string, string> } }>(
      rest,
      `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/annotated`,
    );
    expect(live?.metadata.annotations?.team).toBe('a');
    await rest.request(
      'DELETE',
      `/apis/vmplane.io/v1alpha1/virtualmachinepolicies/${n('need-team')}`,
    );
  });

  it('Warn admits, and kubectl prints the warning', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      json(
        policy('warn-owner', {
          validationActions: ['Warn'],
          rules: { requiredLabels: [{ key: 'owner' }] },
        }),
      ),
    );
    await policyIsCached(n('warn-owner'));
    const r = await kubectl(['apply', '-f', '-'], json(vm('no-owner', n('small'), {}, {})));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('virtualmachine.vmplane.io/no-owner created');
    expect(r.stderr).toContain(
      `Warning: policy "${n('warn-owner')}" rule requiredLabels: label owner is required`,
    );
  });

  it('Audit admits, and the PolicyReport shows the violation', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      json(
        policy('audit-suspend', {
          validationActions: ['Audit'],
          validations: [
            {
              name: 'not-suspended',
              expression: "object.spec.powerState != 'Suspended'",
              message: 'suspended VMs hold memory on their node',
            },
          ],
        }),
      ),
    );
    await policyIsCached(n('audit-suspend'));
    const r = await kubectl(
      ['apply', '-f', '-'],
      json(vm('sleepy', n('small'), { powerState: 'Suspended' })),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const res = await waitForResult('sleepy', n('audit-suspend'), 'fail');
    expect(res).toMatchObject({
      rule: 'not-suspended',
      message: 'suspended VMs hold memory on their node',
    });
    const kubectlView = await kubectl(['get', 'policyreport', REPORT_NAME, '-n', ns]);
    expect(kubectlView.stdout.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'PASS',
      'FAIL',
      'WARN',
      'ERROR',
      'SKIP',
      'AGE',
    ]);
  });

  it('an exception lets a VM through, and the report says so', async () => {
    const ex = {
      apiVersion: V,
      kind: 'VirtualMachinePolicyException',
      metadata: { name: 'big-db', namespace: ns },
      spec: {
        policyName: n('deny-big'),
        rules: ['maxCPUs'],
        vmNames: ['db'],
        reason: 'the database needs 16 vCPUs, approved in TICKET-42',
      },
    };
    expect((await kubectl(['apply', '-f', '-'], json(ex))).stderr).toBe('');
    await waitUntil(
      'the webhook to see the exception',
      async () => webhooks.cache.exceptions(ns).length > 0,
    );
    const r = await kubectl(['apply', '-f', '-'], json(vm('db', n('big'))));
    expect(r.code).toBe(0);
    const res = await waitForResult('db', n('deny-big'), 'skip');
    expect(res.properties?.exception).toBe(`${ns}/big-db`);
    expect(res.message).toContain('waived by exception');
    expect(res.message).toContain('approved in TICKET-42');
    // The decision log says so too, on the request that used it.
    const line = decisions.find(
      (d) => d.name === 'db' && d.notes?.some((x) => x.startsWith('exception ')),
    );
    expect(line?.notes).toContain(
      `exception ${ns}/big-db waived policy ${n('deny-big')} rule maxCPUs`,
    );
    expect(line?.outcome).toBe('allowed');
  });

  it('refuses a policy whose CEL does not compile, with the error and its position', async () => {
    const bad = policy('bad-cel', {
      validationActions: ['Deny'],
      validations: [{ expression: "object.spec.powerState != 'Suspended' &&" }],
    });
    const r = await kubectl(['apply', '-f', '-'], json(bad));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "CEL refused: spec.validations[0].expression: Syntax error: mismatched input '<EOF>' expecting",
    );
    expect(r.stderr).toContain('at line 1, column 41');
  });

  it('reports existing VMs that violate a new Deny policy, without touching them', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      json(
        policy('deny-suspended', {
          validationActions: ['Deny', 'Audit'],
          rules: { allowedPowerStates: ['PoweredOn', 'PoweredOff'] },
        }),
      ),
    );
    const res = await waitForResult('sleepy', n('deny-suspended'), 'fail');
    expect(res.message).toBe(
      'power state Suspended is not allowed; allowed: PoweredOn, PoweredOff',
    );
    const still = await rest.get<{ spec: { powerState: string } }>({
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name: 'sleepy', namespace: ns },
    });
    expect(still.spec.powerState).toBe('Suspended');
  });

  it("keeps each policy's status: Ready, observed generation and violation counts", async () => {
    const status = await waitUntil(
      'deny-suspended status',
      async () => {
        const p = await rest.get<{
          metadata: { generation: number };
          status?: {
            observedGeneration: number;
            conditions: { type: string; status: string }[];
            violations: { audited: number; failed: number };
          };
        }>({
          apiVersion: V,
          kind: 'VirtualMachinePolicy',
          metadata: { name: n('deny-suspended') },
        });
        return p.status?.violations?.failed === 1 ? p : undefined;
      },
      30_000,
      200,
    );
    expect(status.status?.observedGeneration).toBe(status.metadata.generation);
    expect(status.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    );
    expect(status.status?.violations.audited).toBeGreaterThanOrEqual(3);
    const get = await kubectl(['get', 'vmpolicy', n('deny-suspended')]);
    expect(get.stdout).toMatch(/\["Deny","Audit"\]\s+True\s+1/);
  });

  it('accepts every policy of the library in examples/policies', async () => {
    for (const m of loadManifestDir(join(REPO_ROOT, 'examples/policies')).filter(
      (x) => x.object.kind === 'VirtualMachinePolicy',
    )) {
      const r = await kubectl(
        ['apply', '--dry-run=server', '-f', '-'],
        json({ ...m.object, metadata: { ...m.object.metadata, labels: SCOPE } }),
      );
      expect(r.stderr, m.object.metadata.name).toBe('');
    }
  });

  it('stays quiet when nothing changes: its own writes and status-only updates trigger no scan and no write', async () => {
    // Settle: wait until a scan finds nothing to do.
    const policyPath = `/apis/vmplane.io/v1alpha1/virtualmachinepolicies/${n('deny-suspended')}`;
    const reportPath = `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports/${REPORT_NAME}`;
    const versions = async (): Promise<string> => {
      const p = await rest.request<{ metadata: { resourceVersion: string } }>('GET', policyPath);
      const r = await rest.request<{ metadata: { resourceVersion: string } }>('GET', reportPath);
      return `${p.body.metadata.resourceVersion}/${r.body.metadata.resourceVersion}`;
    };
    let last = '';
    await waitUntil(
      'the audit to settle',
      async () => {
        // Long enough for a scan in progress on a loaded machine to end (scans counts at its end).
        await new Promise((r) => setTimeout(r, 3000));
        const now = `${auditor.scans}/${await versions()}`;
        const settled = now === last;
        last = now;
        return settled || undefined;
      },
      60_000,
      0,
    );
    const scans = auditor.scans;
    const before = await versions();
    // A status-only change of a VM (what the controllers write) and a forced scan of unchanged inputs.
    await rest.request(
      'PATCH',
      `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/sleepy/status`,
      {
        body: { status: { printableStatus: 'Stopped' } },
        contentType: 'application/merge-patch+json',
      },
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(auditor.scans).toBe(scans);
    // A full scan of the same inputs evaluates everything again and writes nothing.
    await auditor.scanNow(true);
    expect(auditor.scans).toBe(scans + 1);
    expect(await versions()).toBe(before);
  });
});
