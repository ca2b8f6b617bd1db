// The targets of issue 32 and the verdict of a figure against its target, for the report. Pure
// (unit tests in test/bench/targets.test.ts). A figure that is missing, not a number, or zero
// where a time or a rate belongs is no figure: fig() throws rather than print it.

export interface Target {
  /** The figure must be at most (≤), at least (≥) or below (<) the bound. */
  op: '≤' | '≥' | '<';
  bound: number;
  /** Unit after the bound, if any ('ms', 'MB', 's'; ratios have none). */
  unit?: string;
}

export const TARGETS = {
  /** Generation on / the VAPs + webhooks holding no policy. */
  e2eCreatesPerSecond: { op: '≥', bound: 0.9 },
  e2eCreateP99: { op: '≤', bound: 1.1 },
  /** Webhook alone, 50 policies / the no-op floor. */
  webhookCpuPerRequest: { op: '≤', bound: 2 },
  webhookP99At1000: { op: '≤', bound: 1.5 },
  webhookRssMb: { op: '≤', bound: 256, unit: 'MB' },
  webhookReadyExistingCertMs: { op: '<', bound: 500, unit: 'ms' },
  sandboxReadyS: { op: '<', bound: 8, unit: 's' },
  sandboxRunningS: { op: '<', bound: 12, unit: 's' },
  pluginListMs: { op: '<', bound: 1000, unit: 'ms' },
  controllersRatio: { op: '≤', bound: 1.5 },
  controllersRssMb: { op: '≤', bound: 200, unit: 'MB' },
} as const satisfies Record<string, Target>;

/** Whether the value meets the target. */
export function meets(value: number, t: Target): boolean {
  if (t.op === '≤') return value <= t.bound;
  if (t.op === '≥') return value >= t.bound;
  return value < t.bound;
}

/** The value itself when it is a positive finite number; else an error naming the figure. */
export function fig(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new Error(`report: ${what} is ${JSON.stringify(value)}, not a measured figure`);
  return value;
}

/** `**1.05** (target ≤ 1.1: met)`: the figure in bold beside its target and the verdict. */
export function withTarget(value: unknown, t: Target, what = 'figure'): string {
  const v = fig(value, what);
  const unit = t.unit ? ` ${t.unit}` : '';
  return `**${v}${unit}** (target ${t.op} ${t.bound}${unit}: ${meets(v, t) ? 'met' : 'missed'})`;
}

/** One row of the targets table: what, the figure, the target, met or missed. */
export function targetRow(what: string, value: unknown, t: Target): string {
  const v = fig(value, what);
  const unit = t.unit ? ` ${t.unit}` : '';
  return `| ${what} | ${v}${unit} | ${t.op} ${t.bound}${unit} | ${meets(v, t) ? 'met' : '**missed**'} |`;
}
