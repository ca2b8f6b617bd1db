// When the end-to-end benchmark counts generation as settled: every policy's status current and
// saying what generation on (or off) should have done.
import { describe, expect, it } from 'vitest';
import { ruleCounts, settledProblems, type PolicyLike } from '../../bench/native.ts';

const policy = (name: string, generation: number, enforcement?: object): PolicyLike => ({
  metadata: { name, generation },
  ...(enforcement ? { status: { enforcement } } : {}),
});

const onStatus = {
  observedGeneration: 2,
  admissionPolicy: 'vmplane-policy-a',
  native: ['requiredLabels', 'cel-0'],
  webhook: [{ rule: 'maxCPUs', reason: 'reads the VM class' }],
};

describe('generation settled', () => {
  it('needs a status.enforcement on every policy', () => {
    expect(settledProblems([policy('a', 1)], true)).toEqual(['a: no status.enforcement']);
  });

  it('needs the status computed from the current generation', () => {
    expect(settledProblems([policy('a', 3, onStatus)], true)).toEqual([
      'a: status.enforcement.observedGeneration 2, metadata.generation 3',
    ]);
  });

  it('with generation on, needs native rules and the admission policy named', () => {
    expect(settledProblems([policy('a', 2, onStatus)], true)).toEqual([]);
    const none = { observedGeneration: 2, native: [], webhook: [{ rule: 'x', reason: 'off' }] };
    expect(settledProblems([policy('a', 2, none)], true)).toEqual([
      'a: no rule enforced natively with generation on (x: off)',
    ]);
  });

  it('with generation off, needs no native rule left', () => {
    expect(settledProblems([policy('a', 2, onStatus)], false)).toEqual([
      'a: 2 rules still native with generation off',
    ]);
    expect(
      settledProblems([policy('a', 2, { observedGeneration: 2, webhook: [] })], false),
    ).toEqual([]);
  });

  it('counts where the rules run, with each distinct reason once', () => {
    expect(ruleCounts([policy('a', 2, onStatus), policy('b', 2, onStatus)])).toEqual({
      native: 4,
      webhook: 2,
      reasons: ['maxCPUs: reads the VM class'],
    });
  });
});
