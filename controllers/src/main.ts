// Starting the controllers: StorageProfiles, disks, VMs, policies' generated
// ValidatingAdmissionPolicies, and the policy audit (on the leader only). The sandbox and tests call startControllers() in-process; in a cluster (and in the
// resilience tests) `node --import tsx controllers/src/main.ts` runs them as a process with
// leader election, a /metrics and /healthz endpoint, and a graceful stop on SIGTERM.
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { ClusterCache } from '../../kube/src/cache.ts';
import type { CelEvaluatorSource } from '../../policy/src/index.ts';
import { diskController } from './disk/controller.ts';
import { addressController, networkController } from './network/addresses.ts';
import { PolicyAuditor } from './policy/audit.ts';
import { nativePolicyController } from './policy/native.ts';
import type { LeaseSettings } from '../../kube/src/leader.ts';
import { Manager } from '../../kube/src/manager.ts';
import { ReviewingMetricsAuthorizer, serveMetrics } from '../../kube/src/metrics-auth.ts';
import { isProgram, stopOnSignals } from '../../kube/src/process.ts';
import { storageProfileController } from './storage/controller.ts';
import { vmClassController } from './vmclass/controller.ts';
import { vmController } from './vm/controller.ts';
import { nadController } from './network/nad.ts';
import { vmServiceController } from './vmservice/controller.ts';
import type { TranslationOptions } from './vm/translate.ts';

export interface ControllerOptions {
  kc: KubeConfig;
  logger?: Logger;
  /** The Lease's name defaults to vmplane-controllers, the identity to host and process id. */
  leaderElection?: Omit<LeaseSettings, 'name' | 'identity'> &
    Partial<Pick<LeaseSettings, 'name' | 'identity'>>;
  /** Reconcile only objects in these namespaces (cluster-scoped ones: only those with this label). */
  scope?: { namespaces: string[]; clusterLabel?: [string, string] };
  /**
   * The policy audit: on (the controllers' own cache and CEL worker), or on with a cache and a CEL
   * engine shared with the webhooks running in the same process (the sandbox).
   */
  audit?: boolean | SharedAudit;
  translation?: TranslationOptions;
  resyncMs?: number;
  /**
   * Generate ValidatingAdmissionPolicies from the policies whose rules can run in the API server
   * (default true). Off: the generated ones are deleted and every rule stays in the webhook.
   */
  nativePolicies?: boolean;
  /** vmplane's own namespace (default vmplane-system), never caught by generated policies. */
  namespace?: string;
}

export interface SharedAudit {
  cache: ClusterCache;
  cel: CelEvaluatorSource;
  intervalMs?: number;
}

export interface RunningControllers {
  manager: Manager;
  stop(): Promise<void>;
}

export async function startControllers(o: ControllerOptions): Promise<RunningControllers> {
  const log = o.logger ?? pino({ name: 'vmplane-controllers' });
  const scope = o.scope;
  const manager = new Manager({
    kc: o.kc,
    logger: log,
    ...(o.resyncMs ? { resyncMs: o.resyncMs } : {}),
    ...(o.leaderElection
      ? {
          leaderElection: {
            name: 'vmplane-controllers',
            identity: `${hostname()}-${process.pid}`,
            ...o.leaderElection,
          },
        }
      : {}),
    ...(scope
      ? {
          scope: (obj: KubernetesObject) =>
            obj.metadata?.namespace
              ? scope.namespaces.includes(obj.metadata.namespace)
              : !!scope.clusterLabel &&
                obj.metadata?.labels?.[scope.clusterLabel[0]] === scope.clusterLabel[1],
        }
      : {}),
  });
  manager.add(storageProfileController(manager));
  manager.add(diskController(manager));
  manager.add(vmController(manager, o.translation));
  manager.add(vmClassController(manager));
  manager.add(addressController(manager));
  manager.add(networkController(manager));
  manager.add(nadController(manager));
  manager.add(vmServiceController(manager));
  // Policies are cluster-scoped: a scope without a cluster label has none of them.
  if (!scope || scope.clusterLabel)
    manager.add(
      nativePolicyController(manager, {
        enabled: o.nativePolicies ?? true,
        ownNamespace: o.namespace ?? 'vmplane-system',
        // Tests sharing one API server: the generated objects carry the scope in name and label.
        ...(scope?.clusterLabel
          ? { scope: scope.clusterLabel[1], scopeLabel: scope.clusterLabel }
          : {}),
      }),
    );

  let owned: ClusterCache | undefined;
  let auditor: PolicyAuditor | undefined;
  if (o.audit) {
    const shared = typeof o.audit === 'object' ? o.audit : undefined;
    // The audit reads the manager's informers: one list and watch, one copy in memory.
    owned = shared
      ? undefined
      : new ClusterCache(o.kc, { informers: (path) => manager.informer(path) });
    const c = shared?.cache ?? (owned as ClusterCache);
    manager.whileLeading(
      () => {
        auditor = new PolicyAuditor({
          kc: o.kc,
          rest: manager.rest,
          lookups: c,
          onChange: (h) => c.onChange(['policies', 'exceptions', 'vms', 'classes'], h),
          log: (m, f) => log.info(f ?? {}, m),
          ...(shared ? { cel: shared.cel, intervalMs: shared.intervalMs ?? 60_000 } : {}),
        });
        auditor.start();
      },
      () => {
        void auditor?.stop();
        auditor = undefined;
      },
    );
  }
  await manager.start();
  return {
    manager,
    async stop() {
      await manager.stop();
      await auditor?.stop();
      await owned?.stop();
    },
  };
}

export async function main(): Promise<void> {
  const env = process.env;
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const namespace = env.VMPLANE_NAMESPACE ?? 'vmplane-system';
  const leaseMs = Number(env.VMPLANE_LEASE_SECONDS ?? 15) * 1000;
  const scopeNs = env.VMPLANE_SCOPE_NAMESPACES?.split(',').filter(Boolean);
  const running = await startControllers({
    kc,
    ...(env.VMPLANE_LEADER_ELECT === 'false'
      ? {}
      : {
          leaderElection: {
            namespace,
            ...(env.VMPLANE_IDENTITY ? { identity: env.VMPLANE_IDENTITY } : {}),
            leaseDurationMs: leaseMs,
            renewDeadlineMs: Math.round(leaseMs * 0.66),
            retryPeriodMs: Math.max(500, Math.round(leaseMs / 8)),
          },
        }),
    ...(scopeNs ? { scope: { namespaces: scopeNs } } : {}),
    audit: env.VMPLANE_AUDIT !== 'false',
    nativePolicies: env.VMPLANE_NATIVE_POLICIES !== 'false',
    namespace,
  });
  let server: Server | undefined;
  const port = Number(env.VMPLANE_METRICS_PORT ?? 0);
  if (port) {
    // /metrics only for callers the API server says may get it (Prometheus with its service
    // account's token, bound to vmplane-metrics-reader); the probes stay open, they say nothing.
    const authorizer = new ReviewingMetricsAuthorizer(running.manager.rest);
    const registry = running.manager.registry;
    server = createServer((req, res) => {
      if (req.url === '/metrics') {
        void serveMetrics(req, res, authorizer, async () => ({
          contentType: registry.contentType,
          text: await registry.metrics(),
        }));
      } else if (req.url === '/healthz' || req.url === '/readyz') {
        res.writeHead(200).end('ok');
      } else res.writeHead(404).end();
    }).listen(port);
  }
  running.manager.onLeadershipLost = () => {
    // Like client-go: a replica that lost the lease exits, and is restarted clean.
    running.manager.log.warn('leadership lost: exiting');
    process.exit(1);
  };
  stopOnSignals(async () => {
    server?.close();
    await running.stop();
  });
}

if (isProgram(import.meta.url, '/controllers/src/main.ts')) await main();
