// Readiness probes of the control plane's processes: a plain GET that must answer 200, over HTTP
// (etcd's /health) or HTTPS with the cluster's CA and, when given, a client certificate.
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KeyPair } from '../../../kube/src/pki.ts';

export function httpGetOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export function httpsGetOk(url: string, caPem: string, client?: KeyPair): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { ca: caPem, cert: client?.certPem, key: client?.keyPem, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
