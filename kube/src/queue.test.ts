import { describe, expect, it } from 'vitest';
import { WorkQueue } from './queue.ts';

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('work queue', () => {
  it('keeps one entry per key however often it is added', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(
      async (k) => {
        seen.push(k);
        if (k === 'busy') await tick(20);
      },
      { concurrency: 1 },
    );
    q.add('busy'); // occupies the only worker, so the rest wait in the queue
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    await q.idle();
    expect(seen).toEqual(['busy', 'a', 'b']);
  });

  it('never runs one key twice at once, and reruns a key added while it ran', async () => {
    let concurrent = 0;
    let max = 0;
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        concurrent++;
        max = Math.max(max, concurrent);
        runs++;
        await tick(20);
        concurrent--;
      },
      { concurrency: 4 },
    );
    q.add('x');
    await tick(5);
    q.add('x'); // while running
    q.add('x');
    await q.idle();
    await tick(40);
    expect(max).toBe(1);
    expect(runs).toBe(2);
  });

  it('caps concurrency', async () => {
    let concurrent = 0;
    let max = 0;
    const q = new WorkQueue(
      async () => {
        concurrent++;
        max = Math.max(max, concurrent);
        await tick(10);
        concurrent--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    await q.idle();
    expect(max).toBe(3);
  });

  it('retries failures with exponential backoff, then forgets them on success', async () => {
    const times: number[] = [];
    let fails = 3;
    const q = new WorkQueue(
      async () => {
        times.push(Date.now());
        if (fails-- > 0) throw new Error('conflict');
      },
      { baseDelayMs: 20, maxDelayMs: 1000 },
    );
    const errors: number[] = [];
    q.onError = (_k, _e, delay) => errors.push(delay);
    q.add('k');
    while (times.length < 4) await tick(10);
    expect(errors).toEqual([20, 40, 80]);
    expect(times[3]! - times[2]!).toBeGreaterThanOrEqual(75);
    expect(q.backoff('k')).toBe(20);
    await q.stop();
  });

  it('requeues after the delay a reconcile asks for, and adding a key cancels its scheduled retry', async () => {
    let runs = 0;
    const q = new WorkQueue(async () => {
      runs++;
      return runs === 1 ? { requeueAfterMs: 10_000 } : undefined;
    });
    q.add('k');
    await q.idle();
    q.add('k'); // fresh information: run now, not in 10 s
    await q.idle();
    expect(runs).toBe(2);
    await q.stop();
  });

  it('keeps the backoff of a failing key while events keep adding it', async () => {
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        runs++;
        throw new Error('always fails');
      },
      { baseDelayMs: 200, maxDelayMs: 10_000 },
    );
    q.onError = () => {};
    q.add('k');
    // An event every 5 ms for 300 ms (its own status writes, a busy object).
    for (let t = 0; t < 60; t++) {
      q.add('k');
      await tick(5);
    }
    // The first run, and the retry after 200 ms; not one run per event.
    expect(runs).toBeLessThanOrEqual(2);
    await q.stop();
  });

  it('stops taking work, waiting for what is running', async () => {
    let finished = 0;
    const q = new WorkQueue(
      async () => {
        await tick(20);
        finished++;
      },
      { concurrency: 1 },
    );
    q.add('a');
    q.add('b');
    await tick(5);
    await q.stop();
    expect(finished).toBe(1);
    q.add('c');
    await tick(30);
    expect(finished).toBe(1);
  });
});
