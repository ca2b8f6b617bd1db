// Through kube-apiserver (BENCH_ONLY=e2e): N VMs created then updated by a plain client, with no
// admission beyond the API server's own, with the same object rules as a
// ValidatingAdmissionPolicy, through vmplane's webhooks, and through a no-op webhook behind the
// same registrations. The p99 ratios between them are the figures; the webhook process's CPU per
// write is read beside them.
import type { KubeRest } from '../kube/src/rest.ts';
import { createNamespace, createVms } from './cluster.ts';
import { ratio, round, stats, timed, type Stats } from './measure.ts';
import { cpuMs } from './processes.ts';
import { registerWebhooks } from './registration.ts';
import { OBJECT_RULES } from './world.ts';

/** Create and update latency of N VMs at a concurrency of 16. */
type Timings = { create: Stats; update: Stats };

/** N VMs created, then each one updated (powered off), in a new namespace e2e-<label>. */
async function endToEnd(rest: KubeRest, n: number, label: string): Promise<Timings> {
  const ns = `e2e-${label}`;
  await createNamespace(rest, ns, { tier: 'production' });
  const c = await createVms(rest, n, ns);
  const u = await timed(n, 16, (i) =>
    rest.request('PATCH', `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/vm-${i}`, {
      body: { spec: { powerState: 'PoweredOff' } },
      contentType: 'application/merge-patch+json',
    }),
  );
  const r = {
    create: stats(c.times, c.seconds, c.errors),
    update: stats(u.times, u.seconds, u.errors),
  };
  console.log(
    `e2e      ${label.padEnd(10)} create p50 ${r.create.p50} p99 ${r.create.p99} ms ${r.create.rps}/s errors ${r.create.errors} | update p50 ${r.update.p50} p99 ${r.update.p99} ms ${r.update.rps}/s errors ${r.update.errors}`,
  );
  return r;
}

/** (c) The same object rules as a ValidatingAdmissionPolicy, evaluated inside the API server. */
async function throughVap(rest: KubeRest, n: number): Promise<Timings> {
  await rest.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'bench-vap' },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['vmplane.io'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['virtualmachines'],
          },
        ],
      },
      validations: OBJECT_RULES.map((r) => ({ expression: r.expression, message: r.name })),
    },
  } as never);
  await rest.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'bench-vap' },
    spec: { policyName: 'bench-vap', validationActions: ['Deny'] },
  } as never);
  await new Promise((r) => setTimeout(r, 3000)); // the API server loads policies asynchronously
  const vap = await endToEnd(rest, n, 'vap');
  await rest.request(
    'DELETE',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/bench-vap',
  );
  await rest.request(
    'DELETE',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/bench-vap',
  );
  return vap;
}

/**
 * The run through registered webhooks (registration.ts), with the webhook process's CPU per
 * write (both calls, mutate and validate) measured around it.
 */
async function throughWebhooks(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
  server: 'vmplane' | 'noop',
): Promise<[Timings, number]> {
  const wh = await registerWebhooks(kubeconfig, rest, server);
  const before = cpuMs(wh.pid);
  const r = await endToEnd(rest, n, server);
  const cpuMsPerWrite = round((cpuMs(wh.pid) - before) / (2 * n), 2);
  await wh.unregister();
  return [r, cpuMsPerWrite];
}

/** (a) vmplane's webhooks in their own process, with the same rules as one VirtualMachinePolicy. */
async function throughVmplane(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
): Promise<[Timings, number]> {
  await rest.create({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachinePolicy',
    metadata: { name: 'bench-rules' },
    spec: {
      validationActions: ['Deny'],
      validations: OBJECT_RULES.map((r) => ({ name: r.name, expression: r.expression })),
    },
  });
  const result = await throughWebhooks(kubeconfig, rest, n, 'vmplane');
  await rest.request('DELETE', '/apis/vmplane.io/v1alpha1/virtualmachinepolicies/bench-rules');
  return result;
}

function p99Ratios(
  r: Record<'none' | 'vap' | 'vmplane' | 'noop', Timings>,
): Record<string, number> {
  const { none, vap, vmplane, noop } = r;
  return {
    createP99NoopVsNone: ratio(noop.create.p99, none.create.p99),
    createP99VsNoop: ratio(vmplane.create.p99, noop.create.p99),
    updateP99VsNoop: ratio(vmplane.update.p99, noop.update.p99),
    createP99VsNone: ratio(vmplane.create.p99, none.create.p99),
    createP99VsVap: ratio(vmplane.create.p99, vap.create.p99),
    updateP99VsNone: ratio(vmplane.update.p99, none.update.p99),
    updateP99VsVap: ratio(vmplane.update.p99, vap.update.p99),
  };
}

export async function throughApiServer(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
): Promise<Record<string, unknown>> {
  const none = await endToEnd(rest, n, 'none');
  const vap = await throughVap(rest, n);
  const [vmplane, vmplaneCpuMsPerWrite] = await throughVmplane(kubeconfig, rest, n);
  // (d) a no-op webhook behind the same two registrations: what any webhook costs here.
  const [noop, noopCpuMsPerWrite] = await throughWebhooks(kubeconfig, rest, n, 'noop');
  console.log(
    `e2e      webhook process CPU per write (mutate + validate): vmplane ${vmplaneCpuMsPerWrite} ms, no-op ${noopCpuMsPerWrite} ms`,
  );
  return {
    requests: n,
    concurrency: 16,
    none,
    vap,
    vmplane,
    noop,
    webhookCpuMsPerWrite: { vmplane: vmplaneCpuMsPerWrite, noop: noopCpuMsPerWrite },
    ratios: p99Ratios({ none, vap, vmplane, noop }),
  };
}
