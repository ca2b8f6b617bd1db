// Admission servers for the webhook benchmark, each in its own process: `noop` (the floor: the
// same Node, express, JSON parsing and TLS, answering "allowed" without looking) and `vmplane N`
// (the real server with N policies, half built-in rules, half CEL). Prints `READY <port>`, and
// writes the CA certificate to BENCH_CA_FILE when set (so the API server can call it). The no-op
// server counts the reviews it answered, by path, at GET /count (what bench/calls.ts reads).
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { bufferedLogger } from '../webhooks/src/log.ts';
import { staticLookups } from '../kube/src/lookups.ts';
import { createCertificateAuthority, issueCertificate } from '../kube/src/pki.ts';
import { WebhookServer } from '../webhooks/src/server.ts';
import { review } from '../webhooks/src/admission.ts';
import { celSchemas, openCelEngine, PolicyCompiler } from '../policy/src/index.ts';
import { benchPolicies, benchWorld } from './world.ts';

const [kind = 'noop', n = '0'] = process.argv.slice(2);
const ca = createCertificateAuthority('bench', 1);
const tls = issueCertificate(ca, {
  commonName: 'bench',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
if (process.env.BENCH_CA_FILE) writeFileSync(process.env.BENCH_CA_FILE, ca.certPem);

if (kind === 'noop') {
  const app = express();
  app.disable('etag'); // as vmplane's server does
  const count: Record<string, number> = { '/mutate': 0, '/validate': 0 };
  app.post(
    ['/validate', '/mutate'],
    express.json({ limit: 3.5 * 1024 * 1024, type: () => true }),
    (req, res) => {
      count[req.path] = (count[req.path] ?? 0) + 1;
      const uid = (req.body as { request?: { uid?: string } }).request?.uid ?? '';
      res.json(review({ uid, allowed: true }));
    },
  );
  app.get('/count', (_req, res) => {
    res.json(count);
  });
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, app);
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () =>
    console.log(`READY ${(server.address() as AddressInfo).port}`),
  );
} else {
  const lookups = staticLookups({ ...benchWorld(), policies: benchPolicies(Number(n)) });
  // The Kubernetes CEL engine in worker threads, from $VMPLANE_CEL_DIR, as the webhooks run it.
  const { engine } = await openCelEngine(undefined, { schemas: celSchemas() });
  // Logging as in production (a decision line per request), to /dev/null.
  const server = new WebhookServer({
    lookups,
    lookupsReady: () => true,
    tls,
    logger: bufferedLogger('vmplane-webhooks', '/dev/null').logger,
    policies: new PolicyCompiler(engine),
  });
  const port = await server.start();
  console.log(`READY ${port}`);
}
