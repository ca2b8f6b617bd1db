import { describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../kube/src/pki.ts';
import { caNames, callerProblem, clientAuthSettings, isAdmissionPath } from './client-auth.ts';

const auth = { caName: '"webhook-client-ca"', allowedNames: ['kube-apiserver-webhook-client'] };

describe('who may send admission reviews', () => {
  it('names the client CA (or CAs) in messages', () => {
    const a = createCertificateAuthority('webhook-client-ca', 1);
    const b = createCertificateAuthority('next-ca', 1);
    expect(caNames(a.certPem)).toBe('"webhook-client-ca"');
    expect(caNames(a.certPem + b.certPem)).toBe('"webhook-client-ca" or "next-ca"');
    expect(() => caNames('nothing')).toThrow('no PEM certificate');
  });

  it('refuses a caller without a certificate the CA verified', () => {
    expect(callerProblem({ presented: false, authorized: false }, auth)).toBe(
      'admission reviews are accepted only from the API server: no client certificate signed by "webhook-client-ca"',
    );
    expect(
      callerProblem(
        {
          presented: true,
          authorized: false,
          authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
        },
        auth,
      ),
    ).toBe(
      'admission reviews are accepted only from the API server: no client certificate signed by "webhook-client-ca" (the one presented: UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    );
  });

  it('accepts the API server, and with names configured only those names', () => {
    const apiServer = {
      presented: true,
      authorized: true,
      commonName: 'kube-apiserver-webhook-client',
    };
    expect(callerProblem(apiServer, auth)).toBeUndefined();
    expect(callerProblem({ ...apiServer, commonName: 'someone' }, auth)).toBe(
      'admission reviews are accepted only from the API server: the client certificate\'s common name "someone" is not one of "kube-apiserver-webhook-client"',
    );
    expect(callerProblem({ ...apiServer, commonName: 'someone' }, { caName: 'x' })).toBeUndefined();
  });

  it('leaves the probes and the metrics open, and guards everything else', () => {
    expect(isAdmissionPath('GET', '/healthz')).toBe(false);
    expect(isAdmissionPath('GET', '/readyz')).toBe(false);
    expect(isAdmissionPath('GET', '/metrics')).toBe(false);
    expect(isAdmissionPath('POST', '/validate')).toBe(true);
    expect(isAdmissionPath('POST', '/mutate')).toBe(true);
    expect(isAdmissionPath('POST', '/anything')).toBe(true);
    expect(isAdmissionPath('POST', '/healthz')).toBe(true);
  });
});

describe('client authentication settings', () => {
  it('come from flags, else from the environment, and are off without a CA file', () => {
    expect(clientAuthSettings([], {})).toBeUndefined();
    expect(
      clientAuthSettings(['--client-ca-file=/ca.crt', '--client-allowed-names', 'a, b'], {}),
    ).toEqual({ caFile: '/ca.crt', allowedNames: ['a', 'b'] });
    expect(
      clientAuthSettings([], {
        VMPLANE_CLIENT_CA_FILE: '/env.crt',
        VMPLANE_CLIENT_ALLOWED_NAMES: 'kube-apiserver-webhook-client',
      }),
    ).toEqual({ caFile: '/env.crt', allowedNames: ['kube-apiserver-webhook-client'] });
    expect(
      clientAuthSettings(['--client-ca-file', '/f'], { VMPLANE_CLIENT_CA_FILE: '/e' }),
    ).toEqual({ caFile: '/f', allowedNames: [] });
  });
});
