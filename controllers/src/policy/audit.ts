// The background audit: evaluates every existing VM against every policy when a policy, an
// exception or a VM changes (debounced) and periodically, then writes one PolicyReport per
// namespace and each policy's status. Existing VMs that violate a policy are reported, never touched.
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { KubeRest, isNotFound } from '../../../kube/src/rest.ts';
import type { Lookups } from '../../../kube/src/lookups.ts';
import { buildContext, evaluatePolicies, PolicyCompiler } from '../../../policy/src/index.ts';
import { auditInputs } from './inputs.ts';
import { buildReport, policyStatus, REPORT_NAME, type VmResults } from './report.ts';

export interface AuditOptions {
  kc: KubeConfig;
  lookups: Lookups;
  /** Subscribe to changes of policies, exceptions and VMs (the cache's onChange). */
  onChange?: (handler: () => void) => void;
  intervalMs?: number;
  debounceMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

export class PolicyAuditor {
  private readonly o: AuditOptions;
  private readonly rest: KubeRest;
  private readonly compiler = new PolicyCompiler();
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private reported = new Set<string>();
  /** What the last scan saw (auditInputs) and wrote (reports by namespace, without timestamps). */
  private lastInputs = '';
  private lastReports = new Map<string, string>();
  /** The next scan runs even when its inputs did not change (periodic: exceptions expire). */
  private forced = false;
  scans = 0;

  constructor(o: AuditOptions) {
    this.o = o;
    this.rest = new KubeRest(o.kc);
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

  private async scan(): Promise<void> {
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
    const compiled = this.compiler.compiled(policies);
    const byNamespace = new Map<string, VmResults[]>();
    const all: VmResults[] = [];
    for (const vm of l.vms()) {
      const ns = vm.metadata.namespace ?? '';
      const ctx = buildContext(
        { operation: 'UPDATE', object: vm, oldObject: vm, namespace: ns },
        l,
      );
      const results = evaluatePolicies(compiled, l.exceptions(ns), ctx, {
        now: nowMs,
        background: true,
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
    // Namespaces whose VMs are all gone lose their report.
    for (const ns of this.reported) {
      if (byNamespace.has(ns)) continue;
      try {
        await this.rest.request(
          'DELETE',
          `/apis/wgpolicyk8s.io/v1alpha2/namespaces/${ns}/policyreports/${REPORT_NAME}`,
        );
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
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
   * One PolicyReport per namespace, written only when its results changed (timestamps aside). A
   * namespace whose write fails is logged and retried at the next scan; the others still go.
   */
  private async writeReports(byNamespace: Map<string, VmResults[]>, nowMs: number): Promise<void> {
    let failed = false;
    for (const [ns, vms] of byNamespace) {
      const report = buildReport(ns, vms, Math.floor(nowMs / 1000));
      const content = JSON.stringify(report, (k, v: unknown) =>
        k === 'timestamp' ? undefined : v,
      );
      if (this.lastReports.get(ns) === content) continue;
      try {
        await this.rest.apply(report as never, { fieldManager: 'vmplane-audit' });
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
    this.rest.close();
  }
}

/**
 * Whether a policy's status says the same as before, apart from when the audit ran. Key order does
 * not count: the API server stores custom resources with their keys sorted.
 */
export function sameExceptAuditTime(before: object | undefined, after: object): boolean {
  const strip = (o: object | undefined): unknown =>
    JSON.parse(JSON.stringify(o ?? {}, (k, v: unknown) => (k === 'lastAuditTime' ? undefined : v)));
  return isDeepStrictEqual(strip(before), strip(after));
}
