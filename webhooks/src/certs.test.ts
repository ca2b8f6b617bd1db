import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleTrusts, FileCertSource, shouldInject, caSerialOf } from './certs.ts';
import { applyAction, caBundle, DEFAULT_POLICY, type CertPolicy } from './certs/plan.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';

const policy: CertPolicy = {
  ...DEFAULT_POLICY,
  dnsNames: ['vmplane-webhooks.vmplane.svc'],
  ipAddresses: [],
  propagationMs: 60_000,
};
const t0 = Date.now();

describe('certificate plan', () => {
  const created = applyAction('create', undefined, t0, policy);

  it('trusts a certificate only when the bundle holds the CA that issued it', () => {
    const introduced = applyAction('introduce-ca', created, t0, policy)!;
    const switched = applyAction('switch-serving', introduced, t0, policy)!;
    const stranger = applyAction('create', undefined, t0, policy)!;
    // A bundle trusts a certificate only when it holds the CA that issued it.
    const bundle = Buffer.from(caBundle(switched)).toString('base64');
    expect(bundleTrusts(bundle, created!.serving.certPem)).toBe(true); // old CA still in it
    expect(bundleTrusts(bundle, switched.serving.certPem)).toBe(true);
    expect(bundleTrusts(bundle, stranger.serving.certPem)).toBe(false);
    expect(bundleTrusts(undefined, switched.serving.certPem)).toBe(false);
  });

  it('never replaces a bundle by an older state', () => {
    // A replica still at serial 3 leaves alone what serial 4 injected, even if it differs.
    expect(shouldInject(3, 4, false)).toBe(false);
    expect(shouldInject(4, 3, true)).toBe(true); // same bundle, but record the newer serial
    expect(shouldInject(4, 4, true)).toBe(false);
    expect(shouldInject(4, 4, false)).toBe(true); // someone applied a stale bundle: put it back
    expect(shouldInject(0, undefined, true)).toBe(true);
    expect(caSerialOf({ metadata: { annotations: { 'vmplane.io/ca-serial': '7' } } })).toBe(7);
    expect(caSerialOf({ metadata: {} })).toBeUndefined();
  });
});

describe('certificates from files (cert-manager)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads them and reloads when they change', async () => {
    const ca = createCertificateAuthority('cm', 1);
    const a = issueCertificate(ca, { commonName: 'a', usages: ['server'], validityDays: 1 });
    const b = issueCertificate(ca, { commonName: 'b', usages: ['server'], validityDays: 1 });
    writeFileSync(join(dir, 'tls.crt'), a.certPem);
    writeFileSync(join(dir, 'tls.key'), a.keyPem);
    const src = new FileCertSource(dir, 20);
    const changes: string[] = [];
    await src.start((c) => changes.push(c.certPem));
    expect(src.current().certPem).toBe(a.certPem);
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(dir, 'tls.crt'), b.certPem);
    writeFileSync(join(dir, 'tls.key'), b.keyPem);
    const deadline = Date.now() + 2000;
    while (!changes.includes(b.certPem) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    src.stop();
    expect(changes).toContain(b.certPem);
    expect(src.current().certPem).toBe(b.certPem);
  });
});
