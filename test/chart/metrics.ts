// The controllers' /metrics under the installed chart's own RBAC: the controllers run as a process
// with a token of the chart's vmplane-controllers service account, so their TokenReviews and
// SubjectAccessReviews are allowed only if the chart grants them; Prometheus's token is let in
// once bound to the chart's vmplane-metrics-reader role, and refused before.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, isNotFound, type KubeRest } from '../../kube/src/rest.ts';

interface Env {
  rest: KubeRest;
  /** The release namespace. */
  ns: string;
  server: string;
  caPem: string;
}

const MONITORING = 'monitoring-metrics-check';
const BINDING = 'prometheus-reads-vmplane-metrics';

async function tokenOf(rest: KubeRest, ns: string, sa: string): Promise<string> {
  try {
    await rest.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } },
    });
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
  }
  const r = await rest.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 600 },
      },
    },
  );
  return r.body.status.token;
}

export function describeMetricsUnderChartRbac(env: () => Env): void {
  describe("the controllers' /metrics with the chart's RBAC", () => {
    let child: ChildProcess | undefined;
    let dir = '';
    const logs: string[] = [];
    const port = 20000 + Math.floor(Math.random() * 12000);
    const scrape = (token?: string): Promise<number> =>
      fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      }).then((r) => r.status);

    beforeAll(async () => {
      const { rest, ns, server, caPem } = env();
      await rest.request('POST', '/api/v1/namespaces', {
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MONITORING } },
      });
      dir = mkdtempSync(join(tmpdir(), 'vmplane-chart-metrics-'));
      const kubeconfig = join(dir, 'kubeconfig');
      const user = { token: await tokenOf(rest, ns, 'vmplane-controllers') };
      writeFileSync(
        kubeconfig,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'c',
              cluster: {
                server,
                'certificate-authority-data': Buffer.from(caPem).toString('base64'),
              },
            },
          ],
          users: [{ name: 'controllers', user }],
          contexts: [{ name: 'c', context: { cluster: 'c', user: 'controllers' } }],
          'current-context': 'c',
        }),
        { mode: 0o600 },
      );
      child = spawn(
        process.execPath,
        ['--import', 'tsx', join(REPO_ROOT, 'controllers/src/main.ts')],
        {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            KUBECONFIG: kubeconfig,
            VMPLANE_NAMESPACE: ns,
            VMPLANE_LEADER_ELECT: 'false',
            VMPLANE_AUDIT: 'false',
            VMPLANE_SCOPE_NAMESPACES: MONITORING,
            VMPLANE_METRICS_PORT: String(port),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child.stdout?.on('data', (b: Buffer) => logs.push(b.toString()));
      child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
      await waitUntil(
        'the metrics port',
        async () =>
          (await scrape().then(
            () => true,
            () => false,
          )) || undefined,
        60_000,
        200,
      );
    }, 90_000);

    afterAll(async () => {
      if (child && child.exitCode === null) {
        const gone = new Promise((r) => child?.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      const { rest } = env();
      for (const path of [
        `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${BINDING}`,
        `/api/v1/namespaces/${MONITORING}`,
      ])
        await rest.request('DELETE', path).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('refuses no token (401) and a token without the right (403), then serves Prometheus once bound to vmplane-metrics-reader', async () => {
      const { rest } = env();
      expect(await scrape(), logs.join('')).toBe(401);
      const prometheus = await tokenOf(rest, MONITORING, 'prometheus');
      expect(await scrape(prometheus), logs.join('')).toBe(403);
      await rest.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: BINDING },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'vmplane-metrics-reader',
          },
          subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: MONITORING }],
        },
      });
      // A refusal is remembered for 10 s (kube/src/metrics-auth.ts): wait it out.
      await waitUntil(
        'the metrics for the bound token',
        async () => ((await scrape(prometheus)) === 200 ? true : undefined),
        30_000,
        500,
      );
      // Another service account of the namespace still has no right.
      expect(await scrape(await tokenOf(rest, MONITORING, 'other'))).toBe(403);
    }, 60_000);
  });
}
