// Where `npm start`'s time goes: each start-up step with when it began and ended, counted from the
// process start, printed as a table when VMPLANE_STARTUP_PROFILE=1 (bench/sandbox.ts reads it).

export interface StepTime {
  step: string;
  /** ms from the process start. */
  startMs: number;
  endMs: number;
}

export class StartupProfile {
  readonly steps: StepTime[] = [];

  /** ms since the process started (the Node process; tsx's loading of the modules comes first). */
  now(): number {
    return Math.round(performance.now());
  }

  /** Runs `fn` as the named step, recording its start and end (also when it fails). */
  async step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const startMs = this.now();
    try {
      return await fn();
    } finally {
      this.steps.push({ step: name, startMs, endMs: this.now() });
    }
  }

  /** Records a step that has already happened (the process start to the first line). */
  mark(name: string, startMs: number, endMs = this.now()): void {
    this.steps.push({ step: name, startMs, endMs });
  }
}

/** The table: steps in the order they began, with start, end and duration in ms (pure). */
export function profileLines(steps: readonly StepTime[]): string[] {
  const sorted = [...steps].sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const width = Math.max(4, ...sorted.map((s) => s.step.length));
  const num = (n: number): string => String(n).padStart(6);
  return [
    `start-up profile (ms from the process start)`,
    `  ${'step'.padEnd(width)}  ${'start'.padStart(6)}  ${'end'.padStart(6)}  ${'ms'.padStart(6)}`,
    ...sorted.map(
      (s) =>
        `  ${s.step.padEnd(width)}  ${num(s.startMs)}  ${num(s.endMs)}  ${num(s.endMs - s.startMs)}`,
    ),
  ];
}
