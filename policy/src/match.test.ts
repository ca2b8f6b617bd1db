// Which policies apply (match.ts): operations, namespace and VM selectors, and the skips reported
// for the policies that do not.
import { describe, expect, it } from 'vitest';
import { celEngine } from '../../test/support/cel.ts';
import { lookups, policy, policyRunner, results, vm } from '../../test/support/policy.ts';
import { compilePolicy } from './compile.ts';
import { buildContext } from './context.ts';
import { evaluatePolicies } from './evaluate.ts';

const engine = await celEngine();
const run = policyRunner(engine);

describe('matching', () => {
  it('applies to CREATE and UPDATE by default, not DELETE', async () => {
    const p = policy({ validations: [{ expression: 'false' }] });
    expect(await run(p, vm())).toHaveLength(1);
    expect(await run(p, vm(), { op: 'UPDATE', old: vm() })).toHaveLength(1);
    expect(await run(p, undefined, { op: 'DELETE', old: vm() })).toHaveLength(0);
  });

  it('honours the operations list', async () => {
    expect(
      await run(policy({ match: { operations: ['UPDATE'] }, rules: { maxCPUs: 1 } }), vm()),
    ).toHaveLength(0);
  });

  it('selects namespaces by label', async () => {
    const p = policy({
      match: { namespaceSelector: { matchLabels: { tier: 'production' } } },
      rules: { maxCPUs: 1 },
    });
    expect(await run(p, vm())).toHaveLength(0);
    expect(results(await run(p, vm({}, { namespace: 'prod' })))).toEqual(['maxCPUs:fail']);
  });

  it('selects VMs by label', async () => {
    const p = policy({
      match: { vmSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] } },
      rules: { maxCPUs: 1 },
    });
    expect(await run(p, vm())).toHaveLength(0);
    expect(await run(p, vm({}, { labels: { app: 'db' } }))).toHaveLength(1);
  });

  it('reports skips for unmatched policies when asked', async () => {
    const l = lookups();
    const ctx = buildContext({ operation: 'CREATE', object: vm(), namespace: 'dev' }, l);
    const p = await compilePolicy(
      engine,
      policy({
        match: { namespaceSelector: { matchLabels: { tier: 'production' } } },
        rules: { maxCPUs: 1, maxDisks: 1 },
      }),
    );
    expect(results(await evaluatePolicies(engine, [p], [], ctx, { includeSkips: true }))).toEqual([
      'maxCPUs:skip',
      'maxDisks:skip',
    ]);
  });
});
