import { describe, expect, it } from 'vitest';
import { bundleTrusts, caSerialOf, shouldInject } from './injection.ts';
import { applyAction, caBundle } from './plan.ts';
import { testCertPolicy as policy } from '../../../test/support/certs.ts';

const t0 = Date.now();

describe('the caBundle of the webhook configurations', () => {
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
