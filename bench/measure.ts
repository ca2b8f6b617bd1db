// How the benchmarks turn runs into figures: latency percentiles and throughput of a list of
// times, many operations timed one by one at a fixed concurrency, medians and rounded ratios.
// Every section computes its figures and their baselines with the same code, so that the ratios
// compare like with like.

export interface Stats {
  p50: number;
  p95: number;
  p99: number;
  rps: number;
  errors: number;
  n: number;
}

/** x rounded to this many decimals. */
export function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** a / b to two decimals; a b of zero counts as 0.001. */
export function ratio(a: number, b: number): number {
  return round(a / Math.max(0.001, b), 2);
}

/** The middle value (the upper one of an even count); 0 for none. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function stats(times: number[], seconds: number, errors: number): Stats {
  const s = [...times].sort((a, b) => a - b);
  const r = (x: number): number => round(x, 2);
  return {
    p50: r(percentile(s, 50)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    rps: Math.round(times.length / seconds),
    errors,
    n: times.length,
  };
}

export async function timed(
  n: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ times: number[]; seconds: number; errors: number }> {
  const times: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        try {
          await op(i);
          times.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { times, seconds: (performance.now() - t0) / 1000, errors };
}
