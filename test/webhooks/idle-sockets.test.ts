// Idle TCP connections must not shut the API server out: 1,100 sockets that connect to the
// webhook and never send a byte (more than the server's connection limit), then VM admissions
// through kube-apiserver, which must still be answered by the webhook within its timeout.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { createLoadFixtures } from '../support/admission-load.ts';

const IDLE = 1_100;
const scope = `i${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;
const idle: Socket[] = [];

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('idle', SCOPE_LABEL);
  await createLoadFixtures(rest, scope);
  webhooks = await startScopedWebhooks(scope);
}, 120_000);

afterAll(async () => {
  for (const s of idle) s.destroy();
  await stopScopedWebhooks(webhooks);
  rest?.close();
});

/** Opens `n` TCP connections that never send anything; resolves once all are connected. */
async function openIdle(port: number, n: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve) => {
          const s = connect({ host: '127.0.0.1', port }, () => resolve());
          // The server may close them (that is the point); count a refused one as opened.
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          idle.push(s);
        }),
    ),
  );
}

// The VM of the admission load (test/support/admission-load.ts), with the class given.
const vmNamed = (name: string, className: string): KubeObjectLike => ({
  apiVersion: API_VERSION,
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns },
  spec: {
    className,
    image: { name: `i-${scope}` },
    bootDisk: { storageClassName: `sc-${scope}` },
  },
});

describe(`${IDLE} idle TCP connections to the webhook`, () => {
  it('do not keep the API server from being answered by the webhook', async () => {
    await openIdle(webhooks.port, IDLE);
    const started = Date.now();
    // Admitted: the mutating webhook's defaults are in what the API server returns.
    const admitted = await rest.create<{ spec: { powerState?: string } }>(
      vmNamed('admitted', `c-${scope}`),
      { dryRun: true },
    );
    const admittedMs = Date.now() - started;
    // Denied by the validating webhook's own logic: the class does not exist.
    let denial: ApiError | undefined;
    try {
      await rest.create(vmNamed('denied', `no-such-class-${scope}`), { dryRun: true });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      denial = e;
    }
    const totalMs = Date.now() - started;
    console.log(
      `with ${IDLE} idle sockets: admitted in ${admittedMs} ms, both answered in ${totalMs} ms`,
    );
    expect(admitted.spec.powerState).toBe('PoweredOn');
    expect(denial?.message).toContain(`admission webhook "vm.validate.vmplane.io.${scope}" denied`);
    expect(denial?.message).toContain(`no-such-class-${scope}`);
  }, 60_000);
});
