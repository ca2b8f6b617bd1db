// The controllers' and the webhooks' /metrics against the real API server: the controllers run as
// a process (as in the cluster), the webhooks in this one; both ask the API server who the caller
// is (TokenReview) and whether it may get /metrics (SubjectAccessReview). No token or a bad one:
// 401; a service account without the right: 403; one bound to a reader ClusterRole: the metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';

let rest: KubeRest;
let child: ChildProcess | undefined;
let webhooks: RunningWebhooks | undefined;
let ns = '';
const port = 20000 + Math.floor(Math.random() * 12000);
const reader = `vmplane-metrics-reader-${Math.random().toString(36).slice(2, 8)}`;
const logs: string[] = [];

async function tokenOf(sa: string): Promise<string> {
  await rest.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } },
  });
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

const scrape = (token?: string): Promise<{ status: number; text: string }> =>
  fetch(`http://127.0.0.1:${port}/metrics`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  }).then(async (r) => ({ status: r.status, text: await r.text() }));

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('metrics');
  child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'controllers/src/main.ts')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      KUBECONFIG: inject('kubeconfig'),
      VMPLANE_LEADER_ELECT: 'false',
      VMPLANE_AUDIT: 'false',
      // Nothing of the other tests' is reconciled by this process.
      VMPLANE_SCOPE_NAMESPACES: ns,
      VMPLANE_METRICS_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (b: Buffer) => logs.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => logs.push(b.toString()));
  await waitUntil(
    'the metrics port',
    async () =>
      (await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )) || undefined,
    60_000,
    200,
  );
}, 90_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  if (child && child.exitCode === null) {
    const gone = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }
  for (const name of [reader, `${reader}-webhooks`]) {
    await rest
      .request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`)
      .catch(() => undefined);
    await rest
      .request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`)
      .catch(() => undefined);
  }
  rest.close();
});

/** A reader ClusterRole (nonResourceURLs /metrics, get) `name` bound to the service account `sa`. */
async function bindReader(sa: string, name: string): Promise<void> {
  await rest.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
    },
  });
  await rest.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  });
}

describe("the controllers' /metrics", () => {
  it('refuses a caller without a token, or with one the API server does not accept (401)', async () => {
    const none = await scrape();
    expect(none.status, logs.join('')).toBe(401);
    expect(none.text).not.toContain('vmplane_controller');
    const bad = await scrape('not-a-token');
    expect(bad.status).toBe(401);
  });

  it('refuses a service account without the right to get /metrics (403)', async () => {
    const r = await scrape(await tokenOf('nobody'));
    expect(r.status).toBe(403);
    expect(r.text).not.toContain('vmplane_controller');
  });

  it('serves one bound to a reader ClusterRole (nonResourceURLs /metrics, get)', async () => {
    const token = await tokenOf('prometheus');
    await bindReader('prometheus', reader);
    const r = await waitUntil(
      'the metrics',
      async () => {
        const x = await scrape(token);
        return x.status === 200 ? x : undefined;
      },
      30_000,
      500,
    );
    expect(r.text).toContain('vmplane_controller');
  });
});

/** GET /metrics of the webhooks (HTTPS on loopback; their serving certificate is not the point). */
function scrapeWebhooks(token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${webhooks?.url ?? ''}/metrics`,
      {
        rejectUnauthorized: false,
        headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe("the webhooks' /metrics", () => {
  beforeAll(async () => {
    webhooks = await startScopedWebhooks(`metrics-${Math.random().toString(36).slice(2, 8)}`);
  }, 90_000);

  it('refuses no token or a bad one (401), and a service account without the right (403)', async () => {
    const none = await scrapeWebhooks();
    expect(none.status).toBe(401);
    expect(none.text).not.toContain('vmplane_admission');
    expect((await scrapeWebhooks('not-a-token')).status).toBe(401);
    const r = await scrapeWebhooks(await tokenOf('nobody-webhooks'));
    expect(r.status).toBe(403);
    expect(r.text).not.toContain('vmplane_admission');
  });

  it('serves a service account bound to the reader role', async () => {
    const token = await tokenOf('prometheus-webhooks');
    await bindReader('prometheus-webhooks', `${reader}-webhooks`);
    const r = await waitUntil(
      "the webhooks' metrics",
      async () => {
        const x = await scrapeWebhooks(token);
        return x.status === 200 ? x : undefined;
      },
      30_000,
      500,
    );
    expect(r.text).toContain('vmplane_webhook_');
  });
});
