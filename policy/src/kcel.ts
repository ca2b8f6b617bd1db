// The Kubernetes CEL engine: kube-apiserver's own CEL environment for ValidatingAdmissionPolicy
// (cel-go with Kubernetes' libraries, its cost model and limits), built from the Go modules of the
// Kubernetes release vmplane targets (policy/kcel/*.go), natively and as WebAssembly.
//
// Two ways to run it, one interface (CelEvaluator):
// - KubernetesCel runs the WebAssembly build in this thread (the offline CLI, whose one archive
//   serves every platform, and unit tests).
// - CelWorkers (cel-workers.ts) runs it beside the event loop, as native processes (the webhooks
//   and the audit: about 6 times less CPU per evaluation and 30 MB instead of 200 MB each) or
//   WebAssembly worker threads, so the webhook and the audit keep answering whatever an
//   expression does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The native program's name in the engine's folder (beside kcel.wasm and wasm_exec.js). */
export const KCEL_NATIVE = 'kcel';

/** What an expression must evaluate to: a validation (bool) or a message expression (string). */
export type ExpressionKind = 'bool' | 'string';

/**
 * How the API server compiles: 'new' for an expression being written (only the libraries of the
 * compatibility version), 'stored' for one already stored (every library the release has).
 */
export type EnvType = 'new' | 'stored';

/** A compiled expression's key in the engine's cache. */
export type ExpressionKey = readonly [expression: string, kind: ExpressionKind, env: EnvType];

/**
 * The outcome of compiling: an error, or the worst-case cost the API server's estimator gives with
 * the variables typed by their schemas (absent, with a warning, when the typed compile fails).
 */
export type Checked =
  { error: string; type: string } | { error?: undefined; maxCost?: number; warning?: string };

/** One validation: its expression and, for a failure, its message expression. */
export interface Step {
  e: string;
  m?: string;
}

/** What one validation came to. */
export interface Outcome {
  /** The expression's value, when it evaluated to a bool. */
  v?: boolean;
  err?: string;
  /** The policy's cost budget for the request ran out here (an error too). */
  budget?: boolean;
  /** The request's time budget ran out before or during this expression (an error too). */
  timeout?: boolean;
  /** Runtime cost as the API server counts it. */
  cost: number;
  /** The message expression's value, for a failure. */
  msg?: string;
}

/** The variables an expression sees; absent ones are null, as in ValidatingAdmissionPolicy. */
export interface CelInputs {
  object?: unknown;
  oldObject?: unknown;
  request?: unknown;
  namespaceObject?: unknown;
  vmClass?: unknown;
  image?: unknown;
}

/** The schemas the typed variables are checked and their costs estimated with. */
export interface CelSchemas {
  object?: object;
  vmClass?: object;
  image?: object;
}

export interface CelLimits {
  /** The API server's cost limit for one expression. */
  perCallLimit: number;
  /** The API server's cost budget for all expressions of one policy on one request. */
  runtimeBudget: number;
  /** The CEL compatibility version the environment is built for (the release's n-1). */
  compatibilityVersion: string;
}

/** The engine as vmplane's policy code uses it, wherever it runs. */
export interface CelEvaluator {
  readonly limits: CelLimits;
  check(expression: string, kind: ExpressionKind, env: EnvType): Promise<Checked>;
  /**
   * Evaluates each policy's validations (plan[i] is policy i's) over the inputs, within the
   * policies' cost budgets and `budgetMs` of wall time from when the evaluation starts.
   */
  evaluate(inputs: CelInputs, plan: readonly Step[][], budgetMs: number): Promise<Outcome[][]>;
  /** Forgets every compiled expression not listed (policies changed or went). */
  retain(keys: readonly ExpressionKey[]): Promise<void>;
  close(): Promise<void>;
}

/** The module's exports (policy/kcel/main.go); each call answers JSON. */
export interface WasmApi {
  configure(schemas: string): string;
  check(expression: string, kind: string, env: string): string;
  evaluate(inputs: string, plan: string, budgetMs: number): string;
  retain(keys: string): string;
  perCallLimit: number;
  runtimeBudget: number;
  compatibilityVersion: string;
}

/** The little of the WebAssembly API used here (not in the TypeScript libraries this project loads). */
interface WasmRuntime {
  instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: unknown }>;
}
type GoRuntime = new () => { importObject: unknown; run(instance: unknown): Promise<void> };

/** Loads the module into this thread (once: later calls get the same instance). */
export async function loadWasm(dir: string): Promise<WasmApi> {
  const g = globalThis as unknown as {
    Go?: GoRuntime;
    WebAssembly: WasmRuntime;
    vmplaneKubernetesCel?: WasmApi;
  };
  if (g.vmplaneKubernetesCel) return g.vmplaneKubernetesCel;
  if (!g.Go) await import(pathToFileURL(join(dir, 'wasm_exec.js')).href);
  if (!g.Go) throw new Error(`${dir}/wasm_exec.js did not define Go`);
  const go = new g.Go();
  const { instance } = await g.WebAssembly.instantiate(
    readFileSync(join(dir, 'kcel.wasm')),
    go.importObject,
  );
  // The module's main registers the API and then waits for calls for ever.
  void go.run(instance);
  if (!g.vmplaneKubernetesCel) throw new Error('the CEL engine did not start');
  return g.vmplaneKubernetesCel;
}

/**
 * One evaluation run right after loading, so the first real one does not pay for the module's
 * first use of its evaluator (measured: tens of milliseconds).
 */
export const WARM_UP = {
  inputs: JSON.stringify({ object: { metadata: { name: 'warm-up', labels: { a: 'b' } } } }),
  plan: JSON.stringify([
    [{ e: "object.metadata.name.matches('^[a-z-]+$') && object.metadata.labels.all(k, k != '')" }],
  ]),
};

function parsed<T>(json: string): T {
  return JSON.parse(json) as T;
}

function limitsOf(api: WasmApi): CelLimits {
  return {
    perCallLimit: api.perCallLimit,
    runtimeBudget: api.runtimeBudget,
    compatibilityVersion: api.compatibilityVersion,
  };
}

/** The engine in this thread: every call runs to its end before anything else here runs. */
export class KubernetesCel implements CelEvaluator {
  private constructor(
    private readonly api: WasmApi,
    readonly limits: CelLimits,
  ) {}

  static async load(dir: string, schemas: CelSchemas = {}): Promise<KubernetesCel> {
    const api = await loadWasm(dir);
    const configured = parsed<{ error?: string }>(api.configure(JSON.stringify(schemas)));
    if (configured.error) throw new Error(`CEL engine: ${configured.error}`);
    api.evaluate(WARM_UP.inputs, WARM_UP.plan, 1_000);
    return new KubernetesCel(api, limitsOf(api));
  }

  checkSync(expression: string, kind: ExpressionKind, env: EnvType): Checked {
    return parsed<Checked>(this.api.check(expression, kind, env));
  }

  evaluateSync(inputs: CelInputs, plan: readonly Step[][], budgetMs: number): Outcome[][] {
    const r = parsed<{ results?: Outcome[][]; error?: string }>(
      this.api.evaluate(JSON.stringify(inputs), JSON.stringify(plan), budgetMs),
    );
    if (r.error || !r.results) throw new Error(`CEL engine: ${r.error ?? 'no results'}`);
    return r.results;
  }

  check(expression: string, kind: ExpressionKind, env: EnvType): Promise<Checked> {
    return Promise.resolve(this.checkSync(expression, kind, env));
  }

  evaluate(inputs: CelInputs, plan: readonly Step[][], budgetMs: number): Promise<Outcome[][]> {
    return Promise.resolve(this.evaluateSync(inputs, plan, budgetMs));
  }

  retain(keys: readonly ExpressionKey[]): Promise<void> {
    this.api.retain(JSON.stringify(keys));
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
