// KubeVirt's own validating admission through kube-apiserver (BENCH_ONLY=kubevirt): what the
// sandbox and the test control plane pay per kubevirt.io write for it. N KubeVirt VMs are created
// with no webhook (the floor, measured in the same run) and then with KubeVirt's admission
// registered (harness/src/controlplane/kubevirt-admission.ts), one at a time (the latency a
// writer sees) and by 16 concurrent clients (the time per write of a burst).
import { ensureConformance } from '../harness/src/controlplane/conformance.ts';
import { startKubeVirtAdmission } from '../harness/src/controlplane/kubevirt-admission.ts';
import { installCrds, kubeConfigFrom } from '../kube/src/client.ts';
import type { KubeRest } from '../kube/src/rest.ts';
import { createNamespace } from './cluster.ts';
import { mustSucceed, ratio, round, statsOf, timed, type Stats } from './measure.ts';
import { cpuMs } from './processes.ts';

/** A VM KubeVirt accepts: halted, 64 MiB, one masquerade interface. */
function kubevirtVm(name: string, namespace: string): object {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: {
            devices: { interfaces: [{ name: 'default', masquerade: {} }] },
            resources: { requests: { memory: '64Mi' } },
          },
          networks: [{ name: 'default', pod: {} }],
        },
      },
    },
  };
}

interface Run {
  /** One writer: each create's latency. */
  sequential: Stats;
  /** 16 writers: wall-clock ms per write over the burst. */
  burstMsPerWrite: number;
}

async function writes(rest: KubeRest, n: number, label: string): Promise<Run> {
  const one = `kv-${label}-1`;
  const many = `kv-${label}-16`;
  await createNamespace(rest, one);
  await createNamespace(rest, many);
  const s = await timed(n, 1, (i) => rest.create(kubevirtVm(`vm-${i}`, one) as never));
  const b = await timed(n, 16, (i) => rest.create(kubevirtVm(`vm-${i}`, many) as never));
  const r = {
    sequential: statsOf(`kubevirt ${label}: one writer`, s),
    burstMsPerWrite: round((mustSucceed(`kubevirt ${label}: 16 writers`, b).seconds * 1000) / n, 2),
  };
  console.log(
    `kubevirt ${label.padEnd(10)} one writer p50 ${r.sequential.p50} p99 ${r.sequential.p99} ms | 16 writers ${r.burstMsPerWrite} ms per write`,
  );
  return r;
}

export async function kubevirtAdmission(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
): Promise<Record<string, unknown>> {
  const conformance = await ensureConformance();
  await installCrds(kubeConfigFrom(kubeconfig), conformance.crdDirs.kubevirt);
  // Warm the API server's path for kubevirt.io VMs (CRD handler, storage) before either run.
  await writes(rest, Math.min(50, n), 'warmup');
  const floor = await writes(rest, n, 'floor');
  const started = performance.now();
  const admission = await startKubeVirtAdmission({
    bin: conformance.kubevirt,
    kubeconfigPath: kubeconfig,
  });
  const registerMs = Math.round(performance.now() - started);
  let withAdmission: Run;
  let webhookCpuMsPerWrite: number;
  try {
    const before = cpuMs(admission.pid);
    withAdmission = await writes(rest, n, 'admission');
    webhookCpuMsPerWrite = round((cpuMs(admission.pid) - before) / (2 * n), 2);
  } finally {
    await admission.stop();
  }
  return {
    vms: n,
    floor,
    withAdmission,
    registerMs,
    webhookCpuMsPerWrite,
    added: {
      sequentialP50Ms: round(withAdmission.sequential.p50 - floor.sequential.p50, 2),
      burstMsPerWrite: round(withAdmission.burstMsPerWrite - floor.burstMsPerWrite, 2),
    },
    ratios: {
      sequentialP50: ratio(withAdmission.sequential.p50, floor.sequential.p50),
      sequentialP99: ratio(withAdmission.sequential.p99, floor.sequential.p99),
      burst: ratio(withAdmission.burstMsPerWrite, floor.burstMsPerWrite),
    },
  };
}
