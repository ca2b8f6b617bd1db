// The background audit: evaluates every existing VM against every policy when a policy, an
// exception or a VM changes (debounced) and periodically, then writes one PolicyReport per
// namespace and each policy's status. Existing VMs that violate a policy are reported, never touched.
import type { KubeConfig } from '@kubernetes/client-node';
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import { KubeRest, isNotFound } from '../../../kube/src/rest.ts';
import type { Lookups } from '../../../kube/src/lookups.ts';
import { buildContext, evaluatePolicies, PolicyCompiler } from '../../../policy/src/index.ts';
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
  scans = 0;

  constructor(o: AuditOptions) {
    this.o = o;
    this.rest = new KubeRest(o.kc);
  }

  start(): void {
    this.o.onChange?.(() => this.trigger());
    this.timer = setInterval(() => this.trigger(0), this.o.intervalMs ?? 10 * 60_000);
    this.timer.unref();
    this.trigger(0);
  }

  /** Schedules a scan; bursts of changes collapse into one. */
  trigger(delay = this.o.debounceMs ?? 1000): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.scanNow(), delay);
  }

  /** Runs a scan now (or right after the one in progress). */
  async scanNow(): Promise<void> {
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
    for (const [ns, vms] of byNamespace) {
      await this.rest.apply(buildReport(ns, vms, Math.floor(nowMs / 1000)) as never, {
        fieldManager: 'vmplane-audit',
      });
    }
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
    for (const p of compiled)
      await this.writeStatus(p.policy, policyStatus(p, all, now, p.policy.status));
    this.scans++;
    this.o.log?.('audit complete', {
      vms: all.length,
      policies: compiled.length,
      namespaces: byNamespace.size,
    });
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
