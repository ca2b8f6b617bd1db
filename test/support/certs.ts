// The webhook certificates' unit tests share one policy: the service's DNS name, no IP address, a
// minute for a new CA to reach every client.
import { DEFAULT_POLICY, type CertPolicy } from '../../webhooks/src/certs/plan.ts';

export const testCertPolicy: CertPolicy = {
  ...DEFAULT_POLICY,
  dnsNames: ['vmplane-webhooks.vmplane.svc'],
  ipAddresses: [],
  propagationMs: 60_000,
};
