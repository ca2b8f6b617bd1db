// CEL parity with the API server. Every expression of the corpus is
//   - compiled by kube-apiserver as a ValidatingAdmissionPolicy validation (a dry-run create: is
//     the policy accepted?), and evaluated there on a VM, through Warn bindings whose warnings
//     say which validations failed and which ran into an error;
//   - compiled by vmplane as the validation of a VirtualMachinePolicy being created (is the policy
//     admitted?), and evaluated by vmplane's engine on the same VM, as the API server returned it,
//     with the same request and namespace: both builds of it, the native process the webhooks
//     and the audit run (CelWorkers) and the WebAssembly the offline CLI runs (KubernetesCel).
// The verdicts (pass, false, error) and the compile decisions must all agree.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest } from '../../kube/src/rest.ts';
import { CelWorkers, celSchemas, compileCelRules } from '../../policy/src/index.ts';
import type { CelEvaluator, KubernetesCel } from '../../policy/src/kcel.ts';
import { celDir, celEngine } from '../support/cel.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { CORPUS, parityVm } from './cel-corpus.ts';

type Verdict = 'pass' | 'false' | 'error' | 'refused';
const BATCH = 8;
const tag = randomBytes(3).toString('hex');
const VAP = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const BINDING = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';
let rest: KubeRest;
let kcel: KubernetesCel;
let native: CelWorkers;
let ns = '';
const made: string[] = [];

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  kcel = await celEngine();
  native = await CelWorkers.start(await celDir(), {
    size: 1,
    schemas: celSchemas(),
  });
  ns = await createNamespace('celparity', { 'cel-parity': tag });
}, 600_000);

afterAll(async () => {
  await native?.close();
  for (const path of made) await rest.request('DELETE', path).catch(() => undefined);
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

/** vmplane's decision on a VirtualMachinePolicy with this one validation: its refusals, if any. */
async function vmplaneRefuses(expression: string, engine: CelEvaluator = kcel): Promise<string[]> {
  const p = {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachinePolicy',
    metadata: { name: 'probe' },
    spec: { validationActions: ['Deny'], validations: [{ expression }] },
  } as VirtualMachinePolicy;
  return (await compileCelRules(engine, p, 'new')).errors;
}

/** Whether the API server accepts a policy with this one validation. */
async function apiServerCompiles(expression: string): Promise<boolean> {
  try {
    await rest.request('POST', `${VAP}?dryRun=All`, {
      body: policy(`probe-${tag}`, [{ expression, message: 'probe' }]),
    });
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.code === 422) return false;
    throw e;
  }
}

function policy(name: string, validations: { expression: string; message: string }[]): object {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
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
      validations,
    },
  };
}

describe('policy CEL against the API server', () => {
  it('agrees with ValidatingAdmissionPolicy on every expression of the corpus', async () => {
    // 1. Compile decisions.
    const apiCompiles = new Map<string, boolean>();
    for (const e of CORPUS) apiCompiles.set(e, await apiServerCompiles(e));

    // 2. Verdicts at the API server: one policy per batch of compiling expressions, each with a
    //    sentinel that always fails, bound with Warn to VMs labelled with the batch.
    const compiling = CORPUS.filter((e) => apiCompiles.get(e));
    const batches: string[][] = [];
    for (let i = 0; i < compiling.length; i += BATCH) batches.push(compiling.slice(i, i + BATCH));
    for (const [b, exprs] of batches.entries()) {
      const name = `parity-${tag}-${b}`;
      await rest.request('POST', VAP, {
        body: policy(name, [
          ...exprs.map((expression, i) => ({ expression, message: `E${i}` })),
          { expression: 'false', message: 'SENTINEL' },
        ]),
      });
      made.push(`${VAP}/${name}`);
      await rest.request('POST', BINDING, {
        body: {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name },
          spec: {
            policyName: name,
            validationActions: ['Warn'],
            matchResources: {
              namespaceSelector: { matchLabels: { 'cel-parity': tag } },
              objectSelector: { matchLabels: { 'cel-batch': String(b) } },
            },
          },
        },
      });
      made.push(`${BINDING}/${name}`);
    }
    const namespaceObject = (
      await rest.request<Record<string, unknown>>('GET', `/api/v1/namespaces/${ns}`)
    ).body;
    const apiVerdicts = new Map<string, Verdict>();
    const engines: [string, CelEvaluator][] = [
      ['native', native],
      ['WebAssembly', kcel],
    ];
    const ours = new Map(engines.map(([n]) => [n, new Map<string, Verdict>()]));
    const oursWhy = new Map(engines.map(([n]) => [n, new Map<string, string>()]));
    for (const [b, exprs] of batches.entries()) {
      // Dry-run creates until the policy is in force (its sentinel warns).
      const { warnings, object } = await waitUntil(
        `policy batch ${b} in force`,
        async () => {
          const res = await rest.request<Record<string, unknown>>(
            'POST',
            `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines?dryRun=All`,
            { body: parityVm(`cel-${b}`, ns, String(b)) },
          );
          const raw = res.headers.warning;
          const list = (Array.isArray(raw) ? raw : raw ? [raw] : []).flatMap(parseWarnings);
          return list.some((w) => w.endsWith(': SENTINEL'))
            ? { warnings: list, object: res.body }
            : undefined;
        },
        30_000,
        200,
      );
      const request = {
        kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachine' },
        resource: { group: 'vmplane.io', version: 'v1alpha1', resource: 'virtualmachines' },
        requestKind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachine' },
        requestResource: {
          group: 'vmplane.io',
          version: 'v1alpha1',
          resource: 'virtualmachines',
        },
        name: `cel-${b}`,
        namespace: ns,
        operation: 'CREATE',
        userInfo: {},
        dryRun: true,
        options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', dryRun: ['All'] },
      };
      for (const [i, e] of exprs.entries())
        apiVerdicts.set(
          e,
          warnings.some((w) => w.includes(`expression '${e}' resulted in error`))
            ? 'error'
            : warnings.some((w) => w.endsWith(`: E${i}`))
              ? 'false'
              : 'pass',
        );
      // vmplane evaluates the batch as one request (each expression a policy of its own), with a
      // time budget no machine load reaches here: this test is about meaning, not speed.
      for (const [name, engine] of engines) {
        const outcomes = await engine.evaluate(
          { object, request, namespaceObject },
          exprs.map((e) => [{ e }]),
          60_000,
        );
        for (const [i, e] of exprs.entries()) {
          const refusals = await vmplaneRefuses(e, engine);
          if (refusals.length) {
            ours.get(name)?.set(e, 'refused');
            oursWhy.get(name)?.set(e, refusals.join('; '));
            continue;
          }
          const r = outcomes[i]?.[0];
          ours.get(name)?.set(e, r?.err !== undefined ? 'error' : r?.v === true ? 'pass' : 'false');
          if (r?.err !== undefined) oursWhy.get(name)?.set(e, r.err);
        }
      }
    }

    // 3. Compare, for each build: compile decisions for all, verdicts for those that compile.
    const disagreements: string[] = [];
    for (const [name, engine] of engines)
      for (const e of CORPUS) {
        const api = apiCompiles.get(e) ? (apiVerdicts.get(e) ?? 'pass') : 'refused';
        const mine = apiCompiles.get(e)
          ? (ours.get(name)?.get(e) ?? 'refused')
          : (await vmplaneRefuses(e, engine)).length
            ? 'refused'
            : 'compiles';
        if (api !== mine)
          disagreements.push(
            `${e}: API server ${api}, vmplane (${name}) ${mine} ${oursWhy.get(name)?.get(e) ?? ''}`,
          );
      }
    const agree =
      CORPUS.length - new Set(disagreements.map((d) => d.split(': API server')[0])).size;
    const verdictCounts = [...apiVerdicts.values()].reduce<Record<string, number>>(
      (m, v) => ({ ...m, [v]: (m[v] ?? 0) + 1 }),
      {},
    );
    console.log(
      `CEL parity (native and WebAssembly): ${agree}/${CORPUS.length} expressions agree (${((100 * agree) / CORPUS.length).toFixed(1)}%) ` +
        `with kube-apiserver's ValidatingAdmissionPolicy; API server verdicts ${JSON.stringify(verdictCounts)}, ` +
        `${CORPUS.length - compiling.length} refused by both`,
    );
    expect(disagreements, disagreements.join('\n')).toEqual([]);
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
    // The corpus exercises every outcome.
    expect(Object.keys(verdictCounts).sort()).toEqual(['error', 'false', 'pass']);
    expect(compiling.length).toBeLessThan(CORPUS.length);
  }, 600_000);
});

/**
 * Warnings arrive as RFC 7234 warning values, `299 - "text"` with escaped quotes, and Node joins
 * several headers into one string with commas.
 */
function parseWarnings(h: string): string[] {
  return [...h.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) =>
    (m[1] ?? '').replace(/\\(.)/g, '$1'),
  );
}

describe('the Kubernetes CEL engine', () => {
  it('bounds every evaluation: linear-time regular expressions, the per-call cost limit, the time budget', () => {
    expect(kcel.limits.perCallLimit).toBe(1_000_000);
    expect(kcel.limits.runtimeBudget).toBe(10_000_000);
    // An exponential pattern for a backtracking engine; RE2 matches it in linear time.
    const long = { object: { metadata: { name: `${'a'.repeat(4000)}!` } } };
    const started = performance.now();
    const [[r]] = kcel.evaluateSync(
      long,
      [[{ e: "object.metadata.name.matches('^([a-z0-9]+-?)*$')" }]],
      10_000,
    ) as [[{ v?: boolean; cost: number }]];
    const ms = performance.now() - started;
    expect(r).toMatchObject({ v: false });
    // A long string through a cheap function: over the per-call limit, an error, as in the API
    // server (a cost the estimate would have refused at admission, given this as a bound).
    const huge = { object: { spec: { s: 'ab'.repeat(3_000_000) } } };
    const over = kcel.evaluateSync(
      huge,
      [[{ e: "object.spec.s.replace('a', 'b').size() > 0" }]],
      60_000,
    )[0]?.[0];
    expect(over?.err).toMatch(/cost limit exceeded/);
    // Nested comprehensions over a long list stop at the time budget.
    const items = { object: { spec: { items: Array.from({ length: 300 }, (_, i) => i) } } };
    const t2 = performance.now();
    const stopped = kcel.evaluateSync(
      items,
      [
        [
          {
            e: 'object.spec.items.all(a, object.spec.items.all(b, object.spec.items.all(c, a + b + c >= 0)))',
          },
        ],
      ],
      50,
    )[0]?.[0];
    const nestedMs = performance.now() - t2;
    expect(stopped).toMatchObject({ timeout: true });
    console.log(
      `4,001-character name against an exponential pattern: ${ms.toFixed(1)} ms (cost ${r.cost}); ` +
        `300³ nested comprehension stopped by a 50 ms time budget after ${nestedMs.toFixed(0)} ms: ${stopped?.err}`,
    );
  });
});
