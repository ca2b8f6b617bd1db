import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCertSource } from './file-source.ts';
import { createCertificateAuthority, issueCertificate } from '../../../kube/src/pki.ts';

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
