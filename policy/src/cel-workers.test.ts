// The CEL workers (native processes): an evaluation that runs long
// answers at its time budget, an operation that cannot be interrupted costs its worker (replaced,
// expressions kept), a worker that dies is replaced, closing leaves no process behind, and an
// engine that cannot start says why instead of starting again for ever.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { celDir } from '../../test/support/cel.ts';
import { CelWorkers } from './cel-workers.ts';
import { celSchemas } from './schemas.ts';

/** The pids of a process's children running the native engine (default: this process's). */
function engineChildren(parent = process.pid): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[1]) === parent && stat.includes('(kcel)');
      } catch {
        return false;
      }
    })
    .map(Number);
}

const nested = `[${Array.from({ length: 60 }, (_, i) => i).join(',')}]`;
const slow = `${nested}.all(x, ${nested}.all(y, ${nested}.all(z, x + y + z >= 0)))`;

describe('CelWorkers', () => {
  const restarts: string[] = [];
  let workers: CelWorkers;
  beforeAll(async () => {
    workers = await CelWorkers.start(await celDir(), {
      size: 1,
      schemas: celSchemas(),
      graceMs: 200,
      maxQueueMs: 50,
      onRestart: (why) => restarts.push(why),
    });
  }, 120_000);
  afterAll(() => workers.close());

  it('compiles in the worker, with the estimate', async () => {
    expect(await workers.check("object.spec.disks.all(d, d.name != '')", 'bool', 'stored')).toEqual(
      { maxCost: expect.any(Number) as number },
    );
    expect(workers.limits.perCallLimit).toBe(1_000_000);
  });

  it('stops a long comprehension at the time budget', async () => {
    // Compiled first, as policies are before any request meets them.
    await workers.check(slow, 'bool', 'stored');
    const started = performance.now();
    const out = await workers.evaluate({}, [[{ e: slow }]], 20);
    expect(out[0]?.[0]).toMatchObject({ timeout: true });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(restarts).toEqual([]);
  });

  it('answers at the budget while a single long operation runs, then replaces the worker', async () => {
    const huge = { object: { spec: { s: 'ab'.repeat(200_000) } } };
    await workers.check("object.metadata.name == 'kept'", 'bool', 'stored');
    // A match whose automaton keeps 120 states alive over 400,000 characters: over a second
    // in RE2's linear time, as one operation the time checks cannot interrupt. Compiled first,
    // as policies are, and cheap to decode: the call starts well within its budget.
    const long = "object.spec.s.matches('^(a|b)*a(a|b){120}$')";
    await workers.check(long, 'bool', 'stored');
    const started = performance.now();
    await expect(workers.evaluate(huge, [[{ e: long }]], 100)).rejects.toThrow(
      /not evaluated within the request's CEL time budget of 100 ms \(vmplane's bound on evaluation cost\): the evaluation ran past it/,
    );
    expect(performance.now() - started).toBeLessThan(500);
    // A call queued behind it waits no longer than the queue bound.
    await expect(workers.evaluate({}, [[{ e: 'true' }]], 5)).rejects.toThrow(
      /no CEL worker was free for 50 ms/,
    );
    // The regular expression runs past budget + grace: the worker is replaced, and the new one
    // answers, its expressions compiled again.
    await expect.poll(() => restarts.length, { timeout: 10_000 }).toBe(1);
    expect(restarts[0]).toMatch(/did not stop within 300 ms; its worker was replaced/);
    // Until the new worker has started, calls fail at the queue bound; then it answers.
    await expect
      .poll(
        async () =>
          (
            await workers
              .evaluate(
                { object: { metadata: { name: 'kept' } } },
                [[{ e: "object.metadata.name == 'kept'" }]],
                5_000,
              )
              .catch(() => undefined)
          )?.[0]?.[0]?.v,
        { timeout: 15_000, interval: 200 },
      )
      .toBe(true);
  }, 30_000);

  it('evaluates with the IANA time zone database', async () => {
    const e = "timestamp('2026-11-30T12:00:00Z').getHours('America/New_York') == 7";
    await workers.check(e, 'bool', 'stored');
    expect((await workers.evaluate({}, [[{ e }]], 5_000))[0]?.[0]).toMatchObject({ v: true });
  });

  it('says why an engine cannot start, and does not try again for ever', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'vmplane-nocel-'));
    try {
      await expect(CelWorkers.start(empty, { size: 2 })).rejects.toThrow(
        /kcel did not start: spawn .* ENOENT/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the engine processes', () => {
  it('are replaced when one dies, and all end when the pool closes', async () => {
    const before = engineChildren();
    const restarts: string[] = [];
    const pool = await CelWorkers.start(await celDir(), {
      size: 2,
      onRestart: (why) => restarts.push(why),
    });
    const mine = engineChildren().filter((p) => !before.includes(p));
    expect(mine).toHaveLength(2);
    await pool.check('1 + 1 == 2', 'bool', 'stored');
    process.kill(mine[0] ?? 0, 'SIGKILL');
    await expect
      .poll(() => restarts, { timeout: 10_000 })
      .toEqual(['the CEL engine process was killed (SIGKILL)']);
    await expect
      .poll(async () => (await pool.evaluate({}, [[{ e: '1 + 1 == 2' }]], 5_000))[0]?.[0]?.v, {
        timeout: 10_000,
      })
      .toBe(true);
    await pool.close();
    expect(engineChildren().filter((p) => !before.includes(p))).toEqual([]);
  });

  it('die with their owner, even one killed outright', async () => {
    const owner = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { CelWorkers } from ${JSON.stringify(new URL('./cel-workers.ts', import.meta.url).pathname)};
await CelWorkers.start(${JSON.stringify(await celDir())}, { size: 2 });
console.log('READY');
setInterval(() => undefined, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        owner.stdout.on('data', (b: Buffer) => b.toString().includes('READY') && resolve());
        owner.on('exit', (c) => reject(new Error(`the owner exited (${c}) before it was ready`)));
      });
      const engines = engineChildren(owner.pid);
      expect(engines).toHaveLength(2);
      owner.kill('SIGKILL');
      const alive = (pid: number): boolean => {
        try {
          return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
        } catch {
          return false;
        }
      };
      await expect.poll(() => engines.filter(alive), { timeout: 10_000 }).toEqual([]);
    } finally {
      owner.kill('SIGKILL');
    }
  }, 60_000);
});
