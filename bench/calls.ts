// Webhook calls per write (BENCH_ONLY=calls): which VM writes the API server sends to vmplane's
// webhooks at all. The bench's no-op server stands behind vmplane's own registrations (the same
// rules and match conditions, webhooks/src/registration.ts) and counts the reviews it answers;
// each kind of write is made WRITES times and the count divided. A write the webhooks never see
// costs them nothing, and no rule of theirs can refuse it.
import { request } from 'node:https';
import type { KubeRest } from '../kube/src/rest.ts';
import { createNamespace } from './cluster.ts';
import { registerWebhooks } from './registration.ts';
import { benchVm } from './world.ts';

const WRITES = 5;

/** The no-op server's count of answered reviews, by path. */
function counts(port: number): Promise<{ mutate: number; validate: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `https://127.0.0.1:${port}/count`,
      { rejectUnauthorized: false, agent: false },
      (res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += b.toString()));
        res.on('end', () => {
          const c = JSON.parse(body) as Record<string, number>;
          resolve({ mutate: c['/mutate'] ?? 0, validate: c['/validate'] ?? 0 });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export interface CallsRow {
  write: string;
  /** Reviews per write, by webhook path. */
  mutate: number;
  validate: number;
}

/** The kinds of VM write measured: the i-th write of each kind to the VM at path. */
function writes(path: string): [string, (i: number) => { path: string; body: object }][] {
  return [
    [
      'status update (/status)',
      (i) => ({ path: `${path}/status`, body: { status: { observedGeneration: i + 1 } } }),
    ],
    [
      'annotations only',
      (i) => ({ path, body: { metadata: { annotations: { 'bench/n': String(i) } } } }),
    ],
    ['labels only', (i) => ({ path, body: { metadata: { labels: { 'bench-n': String(i) } } } })],
    [
      'finalizers only',
      (i) => ({ path, body: { metadata: { finalizers: i % 2 ? ['bench/keep'] : [] } } }),
    ],
    [
      'spec (power state)',
      (i) => ({ path, body: { spec: { powerState: i % 2 ? 'PoweredOn' : 'PoweredOff' } } }),
    ],
  ];
}

export async function webhookCalls(kubeconfig: string, rest: KubeRest): Promise<CallsRow[]> {
  const ns = 'calls';
  await createNamespace(rest, ns, { tier: 'production' });
  const wh = await registerWebhooks(kubeconfig, rest, 'noop');
  const rows: CallsRow[] = [];
  try {
    const per = async (write: string, op: (i: number) => Promise<unknown>): Promise<void> => {
      const before = await counts(wh.port);
      for (let i = 0; i < WRITES; i++) await op(i);
      const after = await counts(wh.port);
      const row = {
        write,
        mutate: (after.mutate - before.mutate) / WRITES,
        validate: (after.validate - before.validate) / WRITES,
      };
      console.log(
        `calls    ${write.padEnd(26)} mutate ${row.mutate} validate ${row.validate} per write`,
      );
      rows.push(row);
    };
    await per('create', (i) => rest.create(benchVm(`vm-${i}`, ns) as never));
    const path = `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/vm-0`;
    for (const [write, make] of writes(path))
      await per(write, (i) => {
        const w = make(i);
        return rest.request('PATCH', w.path, {
          body: w.body,
          contentType: 'application/merge-patch+json',
        });
      });
    await per('delete', (i) =>
      rest.request('DELETE', `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/vm-${i}`),
    );
  } finally {
    await wh.unregister();
  }
  return rows;
}
