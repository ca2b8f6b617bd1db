// The Kubernetes CEL engine: kube-apiserver's own CEL environment for ValidatingAdmissionPolicy
// (cel-go with Kubernetes' libraries, its cost model and limits), built from the Go modules of the
// Kubernetes release vmplane targets and compiled to WebAssembly (policy/kcel/main.go). It runs in
// this process: compile and evaluate are synchronous calls into the module, and every evaluation
// is bounded by the API server's own cost limits, so no expression can run for long.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What an expression must evaluate to: a validation (bool) or a message expression (string). */
export type ExpressionKind = 'bool' | 'string';

export type Compiled = { id: number } | { error: string; type: string };

export interface Evaluated {
  value?: boolean | string;
  /** The CEL type name of the result. */
  type?: string;
  error?: string;
  /** The evaluation ran out of its cost budget (an error too). */
  outOfBudget?: boolean;
  /** Runtime cost as the API server counts it. */
  cost?: number;
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

/** The little of the WebAssembly API used here (not in the TypeScript libraries this project loads). */
interface WasmRuntime {
  instantiate(bytes: Uint8Array, imports: unknown): Promise<{ instance: unknown }>;
}
type GoRuntime = new () => { importObject: unknown; run(instance: unknown): Promise<void> };

interface WasmApi {
  compile(expression: string, kind: string, envType?: string): string;
  evaluate(id: number, inputs: string, budget: number): string;
  release(id: number): void;
  perCallLimit: number;
  runtimeBudget: number;
  compatibilityVersion: string;
}

export class KubernetesCel {
  private constructor(private readonly api: WasmApi) {}

  /** The API server's cost limit for one expression. */
  get perCallLimit(): number {
    return this.api.perCallLimit;
  }

  /** The API server's cost budget for all expressions of one policy on one request. */
  get runtimeBudget(): number {
    return this.api.runtimeBudget;
  }

  /** The CEL compatibility version the environment is built for (the release's n-1). */
  get compatibilityVersion(): string {
    return this.api.compatibilityVersion;
  }

  /**
   * Compiles as the API server does when a ValidatingAdmissionPolicy is created ('new'), or as it
   * does at admission for one already stored ('stored', which allows libraries of later versions).
   */
  compile(
    expression: string,
    kind: ExpressionKind = 'bool',
    env: 'new' | 'stored' = 'new',
  ): Compiled {
    return JSON.parse(this.api.compile(expression, kind, env)) as Compiled;
  }

  evaluate(id: number, inputs: CelInputs, budget = this.perCallLimit): Evaluated {
    return JSON.parse(this.api.evaluate(id, JSON.stringify(inputs), budget)) as Evaluated;
  }

  /** Forgets a compiled program (its policy changed or went). */
  release(id: number): void {
    this.api.release(id);
  }

  /** Loads the engine from a folder holding kcel.wasm and Go's wasm_exec.js. */
  static async load(dir: string): Promise<KubernetesCel> {
    const g = globalThis as unknown as {
      Go?: GoRuntime;
      WebAssembly: WasmRuntime;
      vmplaneKubernetesCel?: WasmApi;
    };
    if (g.vmplaneKubernetesCel) return new KubernetesCel(g.vmplaneKubernetesCel);
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
    return new KubernetesCel(g.vmplaneKubernetesCel);
  }
}
