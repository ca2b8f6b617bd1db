// Webhooks registered with the benchmark's API server: vmplane's (the production bundle, own
// process) or the bench's no-op server, behind the same two configurations vmplane installs.
// The end-to-end and controllers benchmarks write through them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:tls';
import type { KubeRest } from '../kube/src/rest.ts';
import { webhookConfigurations } from '../webhooks/src/registration.ts';
import { startBenchServer, stop } from './processes.ts';
import { startWebhookProcess } from './startup.ts';

/** The webhook server in its own process, and the CA bundle that verifies its certificate. */
async function startServer(
  kubeconfig: string,
  rest: KubeRest,
  server: 'vmplane' | 'noop',
): Promise<{ child: ChildProcess; port: number; bundle: string }> {
  if (server === 'noop') {
    const dir = mkdtempSync(join(tmpdir(), 'vmplane-bench-ca-'));
    try {
      const caFile = join(dir, 'noop-ca.pem');
      const wh = await startBenchServer(['noop'], { BENCH_CA_FILE: caFile });
      return { ...wh, bundle: readFileSync(caFile, 'utf8') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const wh = await startWebhookProcess(kubeconfig, 'vmplane-bench');
  // The CA lives in a Secret of its own (webhooks/src/certs/secret-data.ts); the TLS Secret the
  // server loads holds no bundle.
  const secret = await rest.request<{ data?: Record<string, string> }>(
    'GET',
    `/api/v1/namespaces/vmplane-bench/secrets/${CA_SECRET}`,
  );
  return {
    child: wh.child,
    port: wh.port,
    bundle: Buffer.from(secret.body.data?.['ca-bundle.crt'] ?? '', 'base64').toString(),
  };
}

/** The Secret of the webhooks' CA, where its bundle is (certSourceFor in webhooks/src/main.ts). */
const CA_SECRET = 'vmplane-webhook-ca';

/**
 * Checks that the bundle verifies the certificate the server presents on 127.0.0.1, as the API
 * server will: a bundle that does not (the CA moved, an old Secret) fails here, by name, instead
 * of failing every measured write with `x509: certificate signed by unknown authority`.
 */
export function verifyServing(port: number, bundlePem: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!bundlePem.includes('BEGIN CERTIFICATE'))
      return reject(new Error(`${what}: the CA bundle to register is empty`));
    const socket = connect({ host: '127.0.0.1', port, ca: bundlePem, servername: undefined });
    socket.once('secureConnect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', (e) =>
      reject(
        new Error(
          `${what}: the CA bundle to register does not verify the server's certificate on 127.0.0.1:${port} (${e.message})`,
        ),
      ),
    );
  });
}

/**
 * Starts webhooks in their own process and registers them with vmplane's configurations; the
 * returned function undoes both. `noop`: the bench's no-op server (answers "allowed" without
 * looking) behind the same registrations, the floor any webhook pays.
 */
export async function registerWebhooks(
  kubeconfig: string,
  rest: KubeRest,
  server: 'vmplane' | 'noop' = 'vmplane',
): Promise<{ pid: number; port: number; unregister: () => Promise<void> }> {
  const wh = await startServer(kubeconfig, rest, server);
  await verifyServing(wh.port, wh.bundle, `${server} webhooks`);
  for (const cfg of webhookConfigurations({
    endpoint: { url: `https://127.0.0.1:${wh.port}` },
    caBundlePem: wh.bundle,
    ownNamespace: 'vmplane-bench',
  }))
    await rest.apply(cfg as never);
  await new Promise((r) => setTimeout(r, 2000)); // the API server loads webhook configurations asynchronously
  const unregister = async (): Promise<void> => {
    // Unregister before the webhook goes, or every later write would be refused.
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      await rest.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/${kind}/${kind.startsWith('mutating') ? 'vmplane-mutating' : 'vmplane-validating'}`,
      );
    }
    await stop(wh.child);
  };
  return { pid: wh.child.pid ?? 0, port: wh.port, unregister };
}
