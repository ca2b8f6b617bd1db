// CEL parity with the API server. Every expression of the corpus is
//   - compiled by kube-apiserver as a ValidatingAdmissionPolicy validation (a dry-run create: is
//     the policy accepted?), and evaluated there on a VM, through Warn bindings whose warnings
//     say which validations failed and which ran into an error;
//   - compiled and evaluated by the Kubernetes CEL engine (policy/src/kcel.ts) on the same VM, as
//     the API server returned it, with the same request and namespace.
// The verdicts (pass, false, error) and the compile decisions must all agree. The engine vmplane
// used so far (cel-js) runs the same corpus, for the record.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureKubernetesCel } from '../../cli/src/controlplane/binaries.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest } from '../../kube/src/rest.ts';
import { compileCel } from '../../policy/src/cel.ts';
import { KubernetesCel } from '../../policy/src/kcel.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { CORPUS, parityVm } from './cel-corpus.ts';

type Verdict = 'pass' | 'false' | 'error' | 'refused';
const BATCH = 8;
const tag = randomBytes(3).toString('hex');
const VAP = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const BINDING = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';
let rest: KubeRest;
let kcel: KubernetesCel;
let ns = '';
const made: string[] = [];

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  kcel = await KubernetesCel.load(await ensureKubernetesCel(() => undefined));
  ns = await createNamespace('celparity', { 'cel-parity': tag });
}, 600_000);

afterAll(async () => {
  for (const path of made) await rest.request('DELETE', path).catch(() => undefined);
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

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
    const ours = new Map<string, Verdict>();
    const inputsOf = new Map<string, Record<string, unknown>>();
    const oursWhy = new Map<string, string>();
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
      for (const [i, e] of exprs.entries()) {
        inputsOf.set(e, { object, request, namespaceObject });
        apiVerdicts.set(
          e,
          warnings.some((w) => w.includes(`expression '${e}' resulted in error`))
            ? 'error'
            : warnings.some((w) => w.endsWith(`: E${i}`))
              ? 'false'
              : 'pass',
        );
        const c = kcel.compile(e, 'bool', 'stored');
        if ('error' in c) {
          ours.set(e, 'refused');
          oursWhy.set(e, c.error);
          continue;
        }
        const r = kcel.evaluate(c.id, { object, request, namespaceObject });
        ours.set(e, r.error ? 'error' : r.value === true ? 'pass' : 'false');
        if (r.error) oursWhy.set(e, r.error);
      }
    }

    // 3. Compare: compile decisions for all, verdicts for those that compile.
    const disagreements: string[] = [];
    let celJsAgrees = 0;
    for (const e of CORPUS) {
      const api = apiCompiles.get(e) ? (apiVerdicts.get(e) ?? 'pass') : 'refused';
      const mine = apiCompiles.get(e)
        ? (ours.get(e) ?? 'refused')
        : 'error' in kcel.compile(e, 'bool', 'new')
          ? 'refused'
          : 'compiles';
      if (api !== mine)
        disagreements.push(`${e}: API server ${api}, vmplane ${mine} ${oursWhy.get(e) ?? ''}`);
      const celJs = apiCompiles.get(e)
        ? celJsVerdict(e, inputsOf.get(e) ?? {})
        : compileCel(e).ok
          ? 'compiles'
          : 'refused';
      if (celJs === api) celJsAgrees++;
    }
    const agree = CORPUS.length - disagreements.length;
    const verdictCounts = [...apiVerdicts.values()].reduce<Record<string, number>>(
      (m, v) => ({ ...m, [v]: (m[v] ?? 0) + 1 }),
      {},
    );
    console.log(
      `CEL parity: ${agree}/${CORPUS.length} expressions agree (${((100 * agree) / CORPUS.length).toFixed(1)}%) ` +
        `with kube-apiserver's ValidatingAdmissionPolicy; API server verdicts ${JSON.stringify(verdictCounts)}, ` +
        `${CORPUS.length - compiling.length} refused; the previous engine (cel-js) agreed on ${celJsAgrees}/${CORPUS.length}`,
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

/** What the previous engine (cel-js) says on the same VM, only to record how far it was. */
function celJsVerdict(expression: string, inputs: Record<string, unknown>): Verdict {
  const compiled = compileCel(expression);
  if (!compiled.ok) return 'refused';
  try {
    const v = compiled.program.run(inputs);
    return v === true ? 'pass' : v === false ? 'false' : 'error';
  } catch {
    return 'error';
  }
}

describe('the Kubernetes CEL engine', () => {
  it('bounds every evaluation by the API server cost limit, whatever the expression', () => {
    expect(kcel.perCallLimit).toBe(1_000_000);
    expect(kcel.runtimeBudget).toBe(10_000_000);
    // An exponential pattern for a backtracking engine; RE2 matches it in linear time.
    const regex = kcel.compile("object.metadata.name.matches('^([a-z0-9]+-?)*$')");
    if (!('id' in regex)) throw new Error(regex.error);
    const long = { object: { metadata: { name: `${'a'.repeat(4000)}!` } } };
    const started = performance.now();
    const r = kcel.evaluate(regex.id, long);
    const ms = performance.now() - started;
    expect(r).toMatchObject({ value: false });
    // Nested comprehensions over a long list run into the per-call limit and stop with an error.
    const nested = kcel.compile(
      'object.spec.items.all(a, object.spec.items.all(b, object.spec.items.all(c, a + b + c >= 0)))',
    );
    if (!('id' in nested)) throw new Error(nested.error);
    const items = { object: { spec: { items: Array.from({ length: 300 }, (_, i) => i) } } };
    const t2 = performance.now();
    const stopped = kcel.evaluate(nested.id, items);
    const nestedMs = performance.now() - t2;
    expect(stopped.error).toMatch(/out of cost budget|cost limit exceeded/);
    kcel.release(regex.id);
    expect(kcel.evaluate(regex.id, long).error).toBe('no such program');
    console.log(
      `4,001-character name against an exponential pattern: ${ms.toFixed(1)} ms (cost ${r.cost}); ` +
        `300³ nested comprehension stopped by the per-call limit after ${nestedMs.toFixed(0)} ms: ${stopped.error}`,
    );
  });
});
