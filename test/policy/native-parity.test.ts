// Native enforcement against the real API server: every example policy (as written, and all
// turned to Warn with a policy breaking every native built-in rule) and the CEL corpus, first with
// vmplane's webhook evaluating everything, then with nativePlan's ValidatingAdmissionPolicies and
// bindings enforcing what qualifies and the webhook holding only the rest. The same VMs must get
// the same verdicts, the same warnings and a denial whose policy message is one the webhook gave,
// each inside the API server's own prefix.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualMachine, VirtualMachinePolicy } from '../../api/generated/types.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { compileCelRules, nativePlan, type NativePlan } from '../../policy/src/index.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { celEngine } from '../support/cel.ts';
import { kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { corpusSuite, fixtures, librarySuite, type Suite } from './native-world.ts';

const scope = `np${randomBytes(3).toString('hex')}`;
const SCOPE = { 'vmplane.io/webhook-scope': scope };
const VMP = '/apis/vmplane.io/v1alpha1';
const NOW = new Date();
let rest: KubeRest;
let webhooks: RunningWebhooks;
let suites: Suite[] = [];
const cleanup: string[] = [];

interface Outcome {
  denied?: string;
  warnings: string[];
}

function path(o: KubeObjectLike): string {
  const api = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const plural = `${o.kind.toLowerCase()}${o.kind.endsWith('s') ? 'es' : 's'}`.replace(
    /ys$/,
    'ies',
  );
  return `${api}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}`;
}

async function create(o: KubeObjectLike): Promise<void> {
  await rest.request('POST', path(o), { body: o });
  cleanup.push(`${path(o)}/${o.metadata.name}`);
}

function parseWarnings(h: string | string[] | undefined): string[] {
  const all = (Array.isArray(h) ? h : h ? [h] : []).join(', ');
  return [...all.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) =>
    (m[1] ?? '').replace(/\\(.)/g, '$1'),
  );
}

/**
 * One dry-run request: denied (with the message) or admitted, and the warnings. A webhook call
 * that timed out (the first evaluation compiles every expression, on a busy machine) is asked
 * again: the test is about meaning, not speed.
 */
async function attempt(
  call: () => Promise<{ headers: Record<string, string | string[] | undefined> }>,
): Promise<Outcome> {
  for (let n = 1; ; n++) {
    let o: Outcome;
    try {
      o = { warnings: parseWarnings((await call()).headers.warning) };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      o = { denied: (e.body as { message?: string }).message ?? e.message, warnings: [] };
    }
    if (n >= 5 || !o.denied?.includes('failed calling webhook')) return o;
  }
}

const admit = (vm: object, ns: string): Promise<Outcome> =>
  attempt(() =>
    rest.request('POST', `${VMP}/namespaces/${ns}/virtualmachines?dryRun=All`, { body: vm }),
  );

/** A dry-run change of an existing VM: its owner label removed (UPDATE), or its deletion. */
function change(vm: VirtualMachine, op: 'UPDATE' | 'DELETE'): Promise<Outcome> {
  const url = `${VMP}/namespaces/${vm.metadata.namespace}/virtualmachines/${vm.metadata.name}?dryRun=All`;
  return attempt(() =>
    op === 'DELETE'
      ? rest.request('DELETE', url)
      : rest.request('PATCH', url, {
          body: { metadata: { labels: { 'vmplane.io/owner': null } } },
          contentType: 'application/merge-patch+json',
        }),
  );
}

async function outcomes(): Promise<Map<string, Outcome>> {
  const out = new Map<string, Outcome>();
  for (const s of suites) {
    for (const vm of s.vms) {
      const ns = vm.metadata.namespace ?? '';
      out.set(`${ns}/${vm.metadata.name}`, await admit(vm, ns));
    }
    for (const vm of s.existing)
      for (const op of ['UPDATE', 'DELETE'] as const)
        out.set(`${vm.metadata.namespace}/${vm.metadata.name} ${op}`, await change(vm, op));
  }
  return out;
}

async function webhookSees(names: string[]): Promise<void> {
  const want = [...names].sort().join(',');
  await waitUntil(
    'the webhook to see the policies',
    async () => {
      const mine = webhooks.cache
        .policies()
        .map((p) => p.metadata.name ?? '')
        .filter((n) => n.endsWith(scope));
      return mine.sort().join(',') === want || undefined;
    },
    60_000,
    200,
  );
}

/** The policy with only the rules the plan leaves to the webhook, or undefined when none is left. */
function residual(p: VirtualMachinePolicy, plan: NativePlan): VirtualMachinePolicy | undefined {
  const left = new Set(plan.webhook.map((w) => w.rule));
  const rules = Object.fromEntries(Object.entries(p.spec.rules ?? {}).filter(([k]) => left.has(k)));
  const validations = (p.spec.validations ?? []).filter((v, i) => left.has(v.name ?? `cel-${i}`));
  if (!Object.keys(rules).length && !validations.length) return undefined;
  const { rules: _r, validations: _v, ...spec } = p.spec;
  return {
    ...p,
    spec: {
      ...spec,
      ...(Object.keys(rules).length ? { rules } : {}),
      ...(validations.length ? { validations } : {}),
    },
  };
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  const engine = await celEngine();
  const refused = new Set<string>();
  for (const e of (await import('./cel-corpus.ts')).CORPUS) {
    const p = {
      metadata: { name: 'probe' },
      spec: { validationActions: ['Warn'], validations: [{ expression: e }] },
    };
    if ((await compileCelRules(engine, p as VirtualMachinePolicy, 'new')).errors.length)
      refused.add(e);
  }
  suites = [
    librarySuite(scope, 'ex'),
    librarySuite(scope, 'exw'),
    corpusSuite(scope, (e) => !refused.has(e)),
  ];
  for (const f of fixtures(scope)) await create(f);
  for (const s of suites)
    for (const n of s.namespaces)
      await create({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: n.name,
          labels: { ...n.labels, ...SCOPE, 'native-parity-suite': s.name },
          annotations: { 'vmplane.io/default-storage-class': `sc-${scope}` },
        } as KubeObjectLike['metadata'],
      });
  webhooks = await startScopedWebhooks(scope, { celTimeBudgetMs: 10_000 });
  for (const s of suites)
    for (const vm of s.existing) await create(vm as unknown as KubeObjectLike);
}, 300_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  for (const p of cleanup.reverse()) await rest?.request('DELETE', p).catch(() => undefined);
  rest?.close();
}, 120_000);

// The API server's own prefixes: NewForbidden's around the policy's, and the warning's.
const VAP_DENIAL =
  /^virtualmachines\.vmplane\.io "[^"]+" is forbidden: ValidatingAdmissionPolicy '([^']+)' with binding '([^']+)' denied request: (.*)$/s;
const VAP_WARNING =
  /^Validation failed for ValidatingAdmissionPolicy '([^']+)' with binding '([^']+)': (.*)$/s;
/** The webhook's prefix: the API server's around the VM webhook's or the VM DELETE webhook's. */
const webhookDenial = (m: string): string =>
  new RegExp(
    `^admission webhook "vm(?:-delete)?\\.validate\\.vmplane\\.io\\.${scope}" denied the request: `,
  ).exec(m)?.[0] ?? '';

/** Messages as compared: an evaluation error reads differently in each, so only its rule counts. */
function normalize(m: string, byExpression: Map<string, string>): string {
  const api = /^expression '(.*)' resulted in error: /s.exec(m);
  if (api) return `error in ${byExpression.get(api[1] ?? '') ?? `unknown expression ${api[1]}`}`;
  const ours = /^(policy "[^"]+" rule \S+): expression could not be evaluated: /s.exec(m);
  return ours ? `error in ${ours[1]}` : m;
}

/** The VAP's own message with its prefix checked: the generated names, policy and binding alike. */
function vapMessage(m: string, re: RegExp, names: Set<string>): string {
  const match = re.exec(m);
  expect(match, m).not.toBeNull();
  expect(names.has(match?.[1] ?? ''), m).toBe(true);
  expect(match?.[2]).toBe(match?.[1]);
  return match?.[3] ?? '';
}

async function enableNative(): Promise<{
  names: Set<string>;
  byExpression: Map<string, string>;
  native: number;
}> {
  const names = new Set<string>();
  const byExpression = new Map<string, string>();
  const left: string[] = [];
  let native = 0;
  for (const s of suites)
    for (const p of s.policies) {
      await rest.request('DELETE', `${VMP}/virtualmachinepolicies/${p.metadata.name}`);
      const exceptions = s.exceptions.filter((e) => e.spec.policyName === p.metadata.name);
      const plan = nativePlan(p, { exceptions, scope, ownNamespace: `vmplane-${scope}`, now: NOW });
      native += plan.native.length;
      const rest_ = residual(p, plan);
      if (rest_) {
        await create(rest_ as unknown as KubeObjectLike);
        left.push(rest_.metadata.name ?? '');
      }
      if (!plan.objects) continue;
      const vap = plan.objects.policy as unknown as KubeObjectLike;
      names.add(vap.metadata.name ?? '');
      for (const v of (
        vap as unknown as { spec: { validations: { expression: string; message: string }[] } }
      ).spec.validations)
        byExpression.set(v.expression, v.message.slice(0, v.message.indexOf(': ')));
      await create(vap);
      await create(plan.objects.binding as unknown as KubeObjectLike);
    }
  await webhookSees(left);
  return { names, byExpression, native };
}

/** A last VAP whose warning says the API server has loaded the ones created before it. */
async function sentinel(before: Map<string, Outcome>): Promise<void> {
  const name = `vmplane-sentinel-${scope}`;
  await create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['vmplane.io'],
            apiVersions: ['*'],
            operations: ['CREATE'],
            resources: ['virtualmachines'],
          },
        ],
      },
      validations: [
        {
          expression:
            "!has(object.metadata.labels) || !('parity-sentinel' in object.metadata.labels)",
          message: 'SENTINEL',
        },
      ],
    },
  } as unknown as KubeObjectLike);
  await create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Warn'],
      matchResources: { namespaceSelector: { matchLabels: SCOPE } },
    },
  } as unknown as KubeObjectLike);
  // A VM the webhook admitted (a denial carries no warnings), labelled for the sentinel.
  const admitted = suites
    .flatMap((s) => s.vms)
    .find((v) => !before.get(`${v.metadata.namespace}/${v.metadata.name}`)?.denied);
  const probe = structuredClone(admitted) as {
    metadata: { labels?: Record<string, string>; namespace?: string };
  };
  probe.metadata.labels = { ...probe.metadata.labels, 'parity-sentinel': 'yes' };
  let last: Outcome | undefined;
  await waitUntil(
    'the generated policies to be in force',
    async () => {
      last = await admit(probe, probe.metadata.namespace ?? '');
      return last.warnings.some((w) => w.endsWith(': SENTINEL')) || undefined;
    },
    60_000,
    200,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; the probe's last outcome: ${JSON.stringify(last)}`);
  });
}

/**
 * The API server's type check of a generated policy against the VirtualMachine schema (status
 * typeChecking): the library's policies and the expressions vmplane writes for built-in rules
 * must raise no warning (the corpus has type errors on purpose).
 */
async function typeWarnings(name: string): Promise<string[]> {
  const status = await waitUntil(
    `the type check of ${name}`,
    async () =>
      (
        await rest.request<{
          metadata: { generation: number };
          status?: {
            observedGeneration?: number;
            typeChecking?: { expressionWarnings?: { fieldRef: string; warning: string }[] };
          };
        }>('GET', `/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/${name}`)
      ).body.status?.typeChecking,
    60_000,
    500,
  );
  return (status.expressionWarnings ?? []).map((w) => `${w.fieldRef}: ${w.warning}`);
}

describe('native enforcement through kube-apiserver', () => {
  it('gives the same verdicts and messages as the webhook, for the library and the CEL corpus', async () => {
    for (const s of suites) {
      for (const p of s.policies) await create(p as unknown as KubeObjectLike);
      for (const e of s.exceptions) await create(e as unknown as KubeObjectLike);
    }
    await webhookSees(suites.flatMap((s) => s.policies.map((p) => p.metadata.name ?? '')));
    await waitUntil(
      'the webhook to see the exceptions',
      async () =>
        suites.every((s) =>
          s.exceptions.every((e) => webhooks.cache.exceptions(e.metadata.namespace).length > 0),
        ) || undefined,
    );
    await waitUntil('the webhook to check VM deletions', async () => {
      const c = await rest.request<{ webhooks: { name: string; rules?: unknown[] }[] }>(
        'GET',
        `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/vmplane-validating-${scope}`,
      );
      return (
        c.body.webhooks.some((h) => h.name.startsWith('vm-delete.') && h.rules?.length) || undefined
      );
    });
    const before = await outcomes();

    const { names, byExpression, native } = await enableNative();
    await sentinel(before);
    for (const n of [...names].filter((x) => !x.startsWith('vmplane-policy-corpus-')))
      expect(await typeWarnings(n), n).toEqual([]);
    const after = await outcomes();

    let warnings = 0;
    let denials = 0;
    let byVap = 0;
    for (const [vm, w] of before) {
      const v = after.get(vm) as Outcome;
      expect(
        Boolean(v.denied),
        `${vm}: ${w.denied ?? 'admitted'} / ${v.denied ?? 'admitted'}`,
      ).toBe(Boolean(w.denied));
      const vWarnings = v.warnings
        .filter((x) => !x.endsWith(': SENTINEL'))
        .map((x) =>
          normalize(VAP_WARNING.test(x) ? vapMessage(x, VAP_WARNING, names) : x, byExpression),
        );
      expect(vWarnings.sort(), vm).toEqual(
        w.warnings.map((x) => normalize(x, byExpression)).sort(),
      );
      warnings += w.warnings.length;
      if (!w.denied || !v.denied) continue;
      denials++;
      expect(webhookDenial(w.denied), w.denied).not.toBe('');
      const parts = w.denied
        .slice(webhookDenial(w.denied).length)
        .split(/; (?=policy ")/)
        .map((x) =>
          normalize(x.replace(/ \(Deny fails closed on an evaluation error\)$/, ''), byExpression),
        );
      const shown = VAP_DENIAL.test(v.denied)
        ? [vapMessage(v.denied, VAP_DENIAL, names)]
        : v.denied.slice(webhookDenial(v.denied).length).split(/; (?=policy ")/);
      if (VAP_DENIAL.test(v.denied)) byVap++;
      for (const m of shown)
        expect(parts, `${vm}: ${v.denied}`).toContain(normalize(m, byExpression));
    }
    console.log(
      `native parity: ${before.size} requests (creates, an update, a delete), ${native} rules enforced natively, ${warnings} warnings and ${denials} denials (${byVap} by a generated ValidatingAdmissionPolicy) identical`,
    );
    expect(byVap).toBeGreaterThan(0);
    expect(warnings).toBeGreaterThan(50);
    expect(native).toBeGreaterThan(100);
  }, 600_000);
});
