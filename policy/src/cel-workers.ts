// The Kubernetes CEL engine beside the event loop: the webhook's and the audit's event loop never
// runs an expression, so /healthz and other requests answer while one is evaluated. Each worker is
// a process running the engine built natively for this machine (policy/kcel/native.go; about 30
// MB, started in a few tens of milliseconds, several times less CPU per evaluation than the
// WebAssembly build); it holds its compiled expressions and runs one call at a time. An evaluation stops itself when
// its time budget runs out (the engine checks inside comprehensions); one that still has not
// answered a grace period later (a single operation too long to interrupt) costs the worker: it is
// ended, the calls it held fail, and a fresh one starts with the same schemas and expressions.
import { join } from 'node:path';
import { processChannel, type EngineChannel, type EngineMessage } from './cel-workers-channels.ts';
import type { Op } from './kcel-frames.ts';
import {
  KCEL_NATIVE,
  WARM_UP,
  type CelEvaluator,
  type CelInputs,
  type CelLimits,
  type CelSchemas,
  type Checked,
  type EnvType,
  type ExpressionKey,
  type ExpressionKind,
  type Outcome,
  type Step,
} from './kcel.ts';

export interface CelWorkersOptions {
  /** Worker processes (each about 30 MB): evaluations run in parallel on this many. */
  size?: number;
  schemas?: CelSchemas;
  /**
   * How long past its time budget an evaluation may go before its worker is ended and replaced.
   * The module interrupts comprehensions itself; this catches what it cannot interrupt.
   */
  graceMs?: number;
  /**
   * How long past its time budget, once its worker started on it, an evaluation's caller waits for
   * the answer; then the call fails with a time-budget error while the worker finishes on its own.
   */
  answerGraceMs?: number;
  /** How long an evaluation waits for a free worker (under load) before it fails. */
  maxQueueMs?: number;
  /** Told when a worker is replaced, with why. */
  onRestart?: (why: string) => void;
}

interface Pending {
  resolve(out: string): void;
  reject(e: Error): void;
}

interface Slot {
  channel: EngineChannel;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** Calls in the order the worker runs them, with how long each may run once it starts. */
  queue: { id: number; limitMs?: number; onStart?: () => void }[];
  /** Armed for the call the worker runs now. */
  timer?: NodeJS.Timeout;
  /** Started, configured and warmed up. */
  started: boolean;
  /** Fails `ready` (a worker that ends before it started). */
  failStart?: (e: Error) => void;
  dead: boolean;
}

export class CelWorkers implements CelEvaluator {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Expressions compiled since the last retain, replayed on a fresh worker. */
  private readonly known = new Map<string, ExpressionKey>();
  private limitsSeen: CelLimits | undefined;
  restarts = 0;

  private constructor(
    private readonly dir: string,
    private readonly opts: CelWorkersOptions,
  ) {}

  static async start(dir: string, opts: CelWorkersOptions = {}): Promise<CelWorkers> {
    const w = new CelWorkers(dir, opts);
    const size = Math.max(1, opts.size ?? 2);
    for (let i = 0; i < size; i++) w.slots.push(w.spawn());
    try {
      await Promise.all(w.slots.map((s) => s.ready));
    } catch (e) {
      await w.close();
      throw e;
    }
    return w;
  }

  get limits(): CelLimits {
    if (!this.limitsSeen) throw new Error('the CEL workers have not started');
    return this.limitsSeen;
  }

  private spawn(): Slot {
    // The channel's events come later (never while it opens), once `slot` is set.
    const slot: Slot = {
      channel: processChannel(join(this.dir, KCEL_NATIVE), {
        message: (m) => message(m),
        gone: (why) => this.lose(slot, why),
      }),
      pending: new Map(),
      queue: [],
      started: false,
      dead: false,
      ready: Promise.resolve(),
    };
    let started: (() => void) | undefined;
    let failed: ((e: Error) => void) | undefined;
    slot.ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    slot.failStart = failed;
    // A rejected readiness nobody awaits yet must not end the process.
    slot.ready.catch(() => undefined);
    const message = (m: EngineMessage): void => {
      if (m.ready) {
        this.limitsSeen = m.ready;
        void this.prime(slot).then(() => {
          slot.started = true;
          started?.();
        }, failed);
        return;
      }
      if (m.id === undefined) return;
      slot.queue = slot.queue.filter((q) => q.id !== m.id);
      this.arm(slot);
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      p.resolve(m.out ?? '{}');
    };
    return slot;
  }

  /** Configures a fresh worker and compiles what the others have compiled. */
  private async prime(slot: Slot): Promise<void> {
    const configured = JSON.parse(
      await this.send(slot, 'configure', [JSON.stringify(this.opts.schemas ?? {})]),
    ) as { error?: string };
    if (configured.error) throw new Error(`CEL engine: ${configured.error}`);
    await this.send(slot, 'evaluate', [WARM_UP.inputs, WARM_UP.plan, '1000']);
    for (const [e, k, env] of this.known.values()) await this.send(slot, 'check', [e, k, env]);
  }

  /** Arms the backstop for the call the worker runs now (the oldest one it holds). */
  private arm(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const head = slot.queue[0];
    if (!head || slot.dead) return;
    head.onStart?.();
    if (head.limitMs === undefined) return;
    const ms = head.limitMs;
    slot.timer = setTimeout(
      () =>
        this.lose(
          slot,
          `CEL evaluation did not stop within ${Math.round(ms)} ms; its worker was replaced`,
        ),
      ms,
    );
  }

  /**
   * A worker that died or was ended: its requests fail; a new one takes its place, unless it never
   * started (then the engine cannot start at all, and starting again would only loop).
   */
  private lose(slot: Slot, why: string): void {
    if (slot.dead) return;
    slot.dead = true;
    clearTimeout(slot.timer);
    for (const p of slot.pending.values()) p.reject(new Error(why));
    slot.pending.clear();
    void slot.channel.end();
    if (!slot.started) slot.failStart?.(new Error(why));
    if (this.closed || !slot.started) return;
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.restarts++;
    this.opts.onRestart?.(why);
    this.slots[i] = this.spawn();
  }

  private send(
    slot: Slot,
    op: Op,
    args: readonly string[],
    limitMs?: number,
    onStart?: () => void,
  ): Promise<string> {
    if (slot.dead) return Promise.reject(new Error('the CEL worker is gone'));
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.queue.push({
        id,
        ...(limitMs !== undefined ? { limitMs } : {}),
        ...(onStart ? { onStart } : {}),
      });
      if (slot.queue.length === 1) this.arm(slot);
      slot.channel.send(id, op, args);
    });
  }

  /** The started worker with the fewest calls queued (else the first to start). */
  private async pick(): Promise<Slot> {
    if (this.closed) throw new Error('the CEL workers are closed');
    const live = this.slots.filter((s) => !s.dead);
    const byLoad = (a: Slot, b: Slot): number => a.queue.length - b.queue.length;
    const slot = live.filter((s) => s.started).sort(byLoad)[0] ?? live[0];
    if (!slot) throw new Error('no CEL worker is running');
    await slot.ready;
    return slot;
  }

  async check(expression: string, kind: ExpressionKind, env: EnvType): Promise<Checked> {
    const key: ExpressionKey = [expression, kind, env];
    this.known.set(JSON.stringify(key), key);
    // Every worker compiles it now, so no evaluation pays for compiling.
    const answers = await Promise.all(
      this.slots.map(async (s) => {
        await s.ready;
        return this.send(s, 'check', [expression, kind, env]);
      }),
    );
    return JSON.parse(answers[0] ?? '{}') as Checked;
  }

  async evaluate(
    inputs: CelInputs,
    plan: readonly Step[][],
    budgetMs: number,
  ): Promise<Outcome[][]> {
    const answerMs = budgetMs + (this.opts.answerGraceMs ?? 15);
    const queueMs = this.opts.maxQueueMs ?? 1_000;
    const stop = `not evaluated within the request's CEL time budget of ${budgetMs} ms (vmplane's bound on evaluation cost)`;
    let timer: NodeJS.Timeout | undefined;
    let giveUp: (e: Error) => void = () => undefined;
    const late = new Promise<never>((_, reject) => {
      giveUp = reject;
    });
    // Waiting for a worker (under load) has a bound of its own; the budget counts from the start.
    timer = setTimeout(
      () => giveUp(new Error(`${stop}: no CEL worker was free for ${queueMs} ms`)),
      queueMs,
    );
    const started = (): void => {
      clearTimeout(timer);
      // When the timer fires, an answer may already wait to be read: a busy event loop runs
      // timers before it reads pipes. setImmediate runs after that read, so only an evaluation
      // that really ran past the budget is given up on, not one whose answer was queued behind
      // other requests.
      timer = setTimeout(
        () => setImmediate(() => giveUp(new Error(`${stop}: the evaluation ran past it`))),
        answerMs,
      );
    };
    const call = this.pick().then((s) =>
      this.send(
        s,
        'evaluate',
        [JSON.stringify(inputs), JSON.stringify(plan), String(budgetMs)],
        budgetMs + (this.opts.graceMs ?? 1_000),
        started,
      ),
    );
    // An answer given up on may still fail later (its worker replaced): nobody is waiting then.
    call.catch(() => undefined);
    let answer: string;
    try {
      answer = await Promise.race([call, late]);
    } finally {
      clearTimeout(timer);
    }
    const out = JSON.parse(answer) as { results?: Outcome[][]; error?: string };
    if (out.error || !out.results) throw new Error(`CEL engine: ${out.error ?? 'no results'}`);
    return out.results;
  }

  async retain(keys: readonly ExpressionKey[]): Promise<void> {
    this.known.clear();
    for (const k of keys) this.known.set(JSON.stringify(k), k);
    const json = JSON.stringify(keys);
    await Promise.all(
      this.slots.map(async (s) => {
        await s.ready;
        await this.send(s, 'retain', [json]);
      }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (s) => {
        s.dead = true;
        clearTimeout(s.timer);
        for (const p of s.pending.values()) p.reject(new Error('the CEL workers are closed'));
        s.pending.clear();
        await s.channel.end();
      }),
    );
  }
}

/** Where the engine is looked for when no folder is given. */
export const CEL_DIR_ENV = 'VMPLANE_CEL_DIR';

/** An engine to use: one the caller owns, or worker threads to start from a folder. */
export type CelEvaluatorSource = CelEvaluator | { dir?: string; workers?: number };

/**
 * The engine the webhooks and the audit evaluate with: the caller's, or CelWorkers started from
 * `dir` (else $VMPLANE_CEL_DIR). `owned` says whether closing it is the caller's job.
 */
export async function openCelEngine(
  source: CelEvaluatorSource | undefined,
  opts: Omit<CelWorkersOptions, 'size'> = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ engine: CelEvaluator; owned: boolean }> {
  if (source && 'evaluate' in source) return { engine: source, owned: false };
  const dir = source?.dir ?? env[CEL_DIR_ENV];
  if (!dir)
    throw new Error(
      `the Kubernetes CEL engine is needed to evaluate policies: set ${CEL_DIR_ENV} to the folder holding the native engine, kcel (the image has it in /app/kcel; \`vmplane\` and \`npm start\` build them)`,
    );
  const engine = await CelWorkers.start(dir, {
    ...opts,
    ...(source?.workers !== undefined ? { size: source.workers } : {}),
  });
  return { engine, owned: true };
}
