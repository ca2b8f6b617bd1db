// How the benchmarks turn runs into figures: latency percentiles and throughput of a list of
// times, many operations timed one by one at a fixed concurrency, medians and rounded ratios.
// Every section computes its figures and their baselines with the same code, so that the ratios
// compare like with like. A run with any error is no figure: stats() throws with the first
// error's text, so `npm run bench` fails instead of printing the times of what happened to work
// (or 0 ms when nothing did).

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

/** A measured run that had errors (or nothing measured): what failed, and the first error's text. */
export class MeasureError extends Error {}

/**
 * Latency percentiles and throughput of a run; throws MeasureError when any operation failed
 * (naming how many and the first error) or none was measured.
 */
export function stats(
  times: number[],
  seconds: number,
  errors: number,
  firstError?: string,
): Stats {
  if (errors > 0)
    throw new MeasureError(
      `${errors} of ${times.length + errors} operations failed; the first: ${firstError ?? '(no error text)'}`,
    );
  if (!times.length || !(seconds > 0)) throw new MeasureError('no operation was measured');
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

/** A timed run: each successful operation's ms, the wall-clock seconds, and what failed. */
export interface Run {
  times: number[];
  seconds: number;
  errors: number;
  /** The text of the first error, when any. */
  firstError?: string;
}

/** The message of an error of any kind (an ApiError's message carries the API server's). */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** stats() of a timed run, its failures named by label. */
export function statsOf(label: string, r: Run): Stats {
  try {
    return stats(r.times, r.seconds, r.errors, r.firstError);
  } catch (e) {
    if (e instanceof MeasureError) throw new MeasureError(`${label}: ${e.message}`);
    throw e;
  }
}

/** Throws (as statsOf does) when a run that is not itself a figure had an error. */
export function mustSucceed(label: string, r: Run): Run {
  statsOf(label, r);
  return r;
}

export async function timed(
  n: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<Run> {
  const times: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
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
        } catch (e) {
          errors++;
          firstError ??= errorText(e);
        }
      }
    }),
  );
  return {
    times,
    seconds: (performance.now() - t0) / 1000,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}
