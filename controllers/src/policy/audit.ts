// The background audit: evaluates every existing VM against every policy when a policy, an
// exception or a VM changes (debounced) and periodically, then writes one PolicyReport per
// namespace and each policy's status. Existing VMs that violate a policy are reported, never touched.
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { type KubeRest, isNotFound, sharedOrOwnRest } from '../../../kube/src/rest.ts';
import type { Lookups } from '../../../kube/src/lookups.ts';
import {
  buildContext,
  celSchemas,
  evaluatePolicies,
  openCelEngine,
  PolicyCompiler,
  type CelEvaluator,
  type CelEvaluatorSource,
} from '../../../policy/src/index.ts';
import { auditInputs } from './inputs.ts';
import { setImmediate as yieldToEvents } from 'node:timers/promises';
import { buildReports, isReportName, policyStatus, type VmResults } from './report.ts';

export interface AuditOptions {
  kc: KubeConfig;
  /** The process's connections to the API server, shared (else the audit opens its own). */
  rest?: KubeRest;
  lookups: Lookups;
  /** Subscribe to changes of policies, exceptions and VMs (the cache's onChange). */
  onChange?: (handler: () => void) => void;
  intervalMs?: number;
  debounceMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
  /**
   * The Kubernetes CEL engine: one the caller owns, or a worker thread started from a folder
   * (default: $VMPLANE_CEL_DIR, one worker: the audit is not in a hurry).
   */
  cel?: CelEvaluatorSource;
  /** The time budget for one VM's CEL, in ms (default 1,000). */
  celTimeBudgetMs?: number;
}

/** The audit's default time budget for all policies' CEL on one VM. */
export const AUDIT_CEL_TIME_BUDGET_MS = 1_000;

export class PolicyAuditor {
  private readonly o: AuditOptions;
  private readonly rest: KubeRest;
  private readonly releaseRest: () => void;
  private cel?: Promise<{ engine: CelEvaluator; owned: boolean }>;
  private compiler?: PolicyCompiler;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private reported = new Set<string>();
  /** What the last scan saw (auditInputs) and wrote (reports by namespace, without timestamps). */
  private lastInputs = '';
  private lastReports = new Map<string, string>();
  /** VMs evaluated between two yields to the event loop (lease renewals, watches, probes). */
  private static readonly YIELD_EVERY = 50;
  /** The next scan runs even when its inputs did not change (periodic: exceptions expire). */
  private forced = false;
  scans = 0;

  constructor(o: AuditOptions) {
    this.o = o;
    ({ rest: this.rest, release: this.releaseRest } = sharedOrOwnRest(o.kc, o.rest));
  }

  start(): void {
    this.o.onChange?.(() => this.trigger());
    this.timer = setInterval(() => this.force(), this.o.intervalMs ?? 10 * 60_000);
    this.timer.unref();
    this.force();
  }

  /** A scan now whatever changed (start-up, the periodic pass). */
  private force(): void {
    this.forced = true;
    this.trigger(0);
  }

  /** Schedules a scan; bursts of changes collapse into one. */
  trigger(delay = this.o.debounceMs ?? 1000): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.scanNow(), delay);
  }

  /** Runs a scan now (or right after the one in progress); `force` scans unchanged inputs too. */
  async scanNow(force = false): Promise<void> {
    if (force) this.forced = true;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.scan()
      .catch((e: unknown) => this.o.log?.('audit failed', { error: (e as Error).message }))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.scanNow();
        }
      });
    return this.running;
  }

  /** The engine, opened at the first scan (a failure is logged, and tried again next scan). */
  private async policyCompiler(): Promise<PolicyCompiler> {
    this.cel ??= openCelEngine(this.o.cel ?? { workers: 1 }, {
      schemas: celSchemas(),
      onRestart: (why) => this.o.log?.('CEL worker replaced', { why }),
    });
    try {
      this.compiler ??= new PolicyCompiler((await this.cel).engine);
    } catch (e) {
      this.cel = undefined;
      throw e;
    }
    return this.compiler;
  }

  private async scan(): Promise<void> {
    const compiler = await this.policyCompiler();
    const l = this.o.lookups;
    // Changes that are only status (this audit's own writes, the controllers' VM status) change
    // no input: no scan, so an idle cluster stays quiet.
    const inputs = auditInputs(l);
    if (inputs === this.lastInputs && !this.forced) return;
    this.forced = false;
    this.lastInputs = inputs;
    const nowMs = (this.o.now ?? Date.now)();
    const now = new Date(nowMs).toISOString();
    const policies = l.policies();
    const compiled = await compiler.compiled(policies);
    const byNamespace = new Map<string, VmResults[]>();
    const all: VmResults[] = [];
    let evaluated = 0;
    for (const vm of l.vms()) {
      // Thousands of VMs must not hold the event loop: a lease renewal is due every few seconds.
      if (++evaluated % PolicyAuditor.YIELD_EVERY === 0) await yieldToEvents();
      const ns = vm.metadata.namespace ?? '';
      const ctx = buildContext(
        { operation: 'UPDATE', object: vm, oldObject: vm, namespace: ns },
        l,
      );
      const results = await evaluatePolicies(compiler.engine, compiled, l.exceptions(ns), ctx, {
        now: nowMs,
        background: true,
        celTimeBudgetMs: this.o.celTimeBudgetMs ?? AUDIT_CEL_TIME_BUDGET_MS,
      });
      const entry = {
        namespace: ns,
        name: vm.metadata.name ?? '',
        ...(vm.metadata.uid ? { uid: vm.metadata.uid } : {}),
        results,
      };
      all.push(entry);
      byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), entry]);
    }
    await this.writeReports(byNamespace, nowMs);
    // Namespaces whose VMs are all gone lose their reports.
    for (const ns of this.reported)
      if (!byNamespace.has(ns)) await this.pruneReports(ns, new Set());
    this.reported = new Set(byNamespace.keys());
    // Compiled policies are kept per generation: the status to compare with is the current one.
    const current = new Map(policies.map((p) => [p.metadata.name, p.status]));
    for (const p of compiled) {
      const before = current.get(p.policy.metadata.name);
      const status = policyStatus(p, all, now, before);
      if (!sameExceptAuditTime(before, status)) await this.writeStatus(p.policy, status);
    }
    this.scans++;
    this.o.log?.('audit complete', {
      vms: all.length,
      policies: compiled.length,
      namespaces: byNamespace.size,
    });
  }

  /**
   * The PolicyReports of each namespace (several past MAX_RESULTS_PER_REPORT results), written
   * only when their results changed (timestamps aside); reports a namespace no longer needs are
   * deleted. A namespace whose write fails is logged and retried at the next scan; the others
   * still go.
   */
  private async writeReports(byNamespace: Map<string, VmResults[]>, nowMs: number): Promise<void> {
    let failed = false;
    for (const [ns, vms] of byNamespace) {
      const reports = buildReports(ns, vms, Math.floor(nowMs / 1000));
      const content = JSON.stringify(reports, (k, v: unknown) =>
        k === 'timestamp' ? undefined : v,
      );
      if (this.lastReports.get(ns) === content) continue;
      try {
        for (const report of reports)
          await this.rest.apply(report as never, { fieldManager: 'vmplane-audit' });
        await this.pruneReports(
          ns,
          new Set(reports.map((r) => (r.metadata as { name: string }).name)),
        );
        this.lastReports.set(ns, content);
      } catch (e) {
        failed = true;
        this.o.log?.('audit report not written', { namespace: ns, error: (e as Error).message });
      }
    }
    for (const ns of this.lastReports.keys()) if (!byNamespace.has(ns)) this.lastReports.delete(ns);
    // A failed namespace is tried again at the next scan, even if nothing else changes.
    if (failed) this.lastInputs = '';
  }

  /** Deletes vmplane's reports in a namespace that are not in `keep` (read live, by label). */
  private async pruneReports(ns: string, keep: Set<string>): Promise<void> {
    const path = `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports`;
    const { body } = await this.rest.request<{ items: { metadata: { name: string } }[] }>(
      'GET',
      `${path}?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=vmplane')}`,
    );
    for (const r of body.items) {
      const name = r.metadata.name;
      if (keep.has(name) || !isReportName(name)) continue;
      try {
        await this.rest.request('DELETE', `${path}/${name}`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private async writeStatus(p: VirtualMachinePolicy, status: object): Promise<void> {
    try {
      await this.rest.request(
        'PATCH',
        `/apis/vmplane.io/v1alpha1/virtualmachinepolicies/${p.metadata.name}/status`,
        {
          body: { status },
          contentType: 'application/merge-patch+json',
        },
      );
    } catch (e) {
      if (!isNotFound(e)) throw e; // deleted meanwhile
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    await this.running;
    this.releaseRest();
    const cel = await this.cel?.catch(() => undefined);
    if (cel?.owned) await cel.engine.close();
  }
}

/**
 * Whether a policy's status says the same as before, apart from when the audit ran and from
 * status.enforcement (the native-policy controller's field, which the audit neither writes nor
 * clears: its merge patch leaves it alone). Key order does not count: the API server stores custom
 * resources with their keys sorted.
 */
export function sameExceptAuditTime(before: object | undefined, after: object): boolean {
  const strip = (o: object | undefined): unknown =>
    JSON.parse(
      JSON.stringify(o ?? {}, (k, v: unknown) =>
        k === 'lastAuditTime' || k === 'enforcement' ? undefined : v,
      ),
    );
  return isDeepStrictEqual(strip(before), strip(after));
}
