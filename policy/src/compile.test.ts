// Compiling policies (compile.ts): once per policy generation.
import { describe, expect, it } from 'vitest';
import { celEngine } from '../../test/support/cel.ts';
import { policy } from '../../test/support/policy.ts';
import { PolicyCompiler } from './compile.ts';

const engine = await celEngine();

describe('compiling once', () => {
  it('reuses the compiled policy until its generation changes', async () => {
    const c = new PolicyCompiler(engine);
    const p = policy({ rules: { maxCPUs: 1 } });
    p.metadata.uid = 'u1';
    const first = (await c.compiled([p]))[0];
    expect((await c.compiled([p]))[0]).toBe(first);
    const next = { ...p, metadata: { ...p.metadata, generation: 2 } };
    expect((await c.compiled([next]))[0]).not.toBe(first);
    expect(c.size).toBe(1);
  });
});
