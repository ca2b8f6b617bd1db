// The production bundle's webhooks process (dist/vmplane.mjs webhooks), started and awaited until
// /readyz answers 200, and the start-up benchmark (BENCH_ONLY=startup) that times exactly that:
// with a fresh certificate to issue, and with the one a previous start left in its Secret.
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { freePort } from '../harness/src/controlplane/controlplane.ts';
import type { KubeRest } from '../kube/src/rest.ts';
import { median } from './measure.ts';
import { exitReport, startBundle, stop } from './processes.ts';

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startWebhookProcess(
  kubeconfig: string,
  namespace: string,
): Promise<{ child: ChildProcess; port: number; ms: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const child = startBundle('webhooks', {
    KUBECONFIG: kubeconfig,
    VMPLANE_NAMESPACE: namespace,
    VMPLANE_PORT: String(port),
    VMPLANE_LISTEN_HOST: '127.0.0.1',
    VMPLANE_CERT_IPS: '127.0.0.1',
  });
  while ((await getStatus(`https://127.0.0.1:${port}/readyz`)) !== 200) {
    if (child.exitCode !== null)
      throw new Error(`the webhook process (dist/vmplane.mjs webhooks) ${exitReport(child)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, port, ms: Math.round(performance.now() - t0) };
}

export async function startup(kubeconfig: string, rest: KubeRest): Promise<Record<string, number>> {
  const fresh: number[] = [];
  const existing: number[] = [];
  for (let i = 0; i < 3; i++) {
    await rest
      .request('DELETE', '/api/v1/namespaces/vmplane-start/secrets/vmplane-webhook-tls')
      .catch(() => undefined);
    const a = await startWebhookProcess(kubeconfig, 'vmplane-start');
    fresh.push(a.ms);
    await stop(a.child);
    const b = await startWebhookProcess(kubeconfig, 'vmplane-start');
    existing.push(b.ms);
    await stop(b.child);
  }
  const r = { freshCertificateMs: median(fresh), existingCertificateMs: median(existing) };
  console.log(
    `start-up to /readyz: fresh certificate ${r.freshCertificateMs} ms, existing certificate ${r.existingCertificateMs} ms (median of 3)`,
  );
  return r;
}
