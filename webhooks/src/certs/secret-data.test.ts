import { describe, expect, it } from 'vitest';
import { applyAction } from './plan.ts';
import { testCertPolicy as policy } from '../../../test/support/certs.ts';
import { fromSecretData, toCaSecretData, toTlsSecretData } from './secret-data.ts';

const t0 = Date.now();

describe('certificates in two Secrets', () => {
  const created = applyAction('create', undefined, t0, policy);

  it('round-trips through the two Secrets, and only the CA Secret holds the CA key', () => {
    const introduced = applyAction('introduce-ca', created, t0, policy)!;
    const ca = toCaSecretData(introduced);
    const tls = toTlsSecretData(introduced);
    expect(fromSecretData(ca, tls)).toEqual(introduced);
    expect(Object.keys(tls).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    expect(Object.values(tls).join()).not.toContain(ca['ca.key']);
    expect(fromSecretData({}, {})).toBeUndefined();
    expect(fromSecretData(undefined, undefined)).toBeUndefined();
  });

  it('reads the one-Secret layout of earlier versions, CA key included', () => {
    const legacy = { ...toTlsSecretData(created!), ...toCaSecretData(created!) };
    expect(fromSecretData(undefined, legacy)).toEqual(created);
  });

  it('keeps the count of changes to the CAs in the CA Secret', () => {
    const introduced = applyAction('introduce-ca', created, t0, policy)!;
    const switched = applyAction('switch-serving', introduced, t0, policy)!;
    const retired = applyAction('retire-old-ca', switched, t0, policy)!;
    expect(fromSecretData(toCaSecretData(retired), toTlsSecretData(retired))?.serial).toBe(4);
  });
});
