// The probe run against real loopback listeners, through a NodeNetwork whose connectGuest dials
// loopback (the address a user-mode guest's forward has): what each outcome reports.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { NodeNetwork } from '../network/node-network.ts';
import { networkReadiness, probeGuest, runNetworkProbe } from './run.ts';

const servers: Server[] = [];
const sockets = new Set<Socket>();
async function listen(onConnection: (s: Socket) => void): Promise<number> {
  const server = createServer(onConnection);
  servers.push(server);
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const loopback: NodeNetwork = {
  mode: 'user-mode',
  nodeIP: '',
  podCIDR: '',
  exec: () => Promise.reject(new Error('no')),
  nft: () => Promise.reject(new Error('no')),
  connect: () => Promise.reject(new Error('no')),
  connectGuest: (_vmi, port) =>
    new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    }),
};
const vmi = (probe: object, ports: object[] = []) => ({
  metadata: { namespace: 'ns', name: 'vm' },
  spec: { readinessProbe: probe, domain: { devices: { interfaces: [{ ports }] } } },
});

describe('runNetworkProbe', () => {
  it('a TCP probe succeeds on a listener and fails on a closed port', async () => {
    const port = await listen((s) => s.end());
    expect(await runNetworkProbe(loopback, vmi({ tcpSocket: { port } }), 1000)).toEqual({
      ok: true,
      message: `TCP probe succeeded on port ${port}`,
    });
    const closed = await listen(() => undefined);
    await new Promise((r) => servers.pop()?.close(r));
    const r = await runNetworkProbe(loopback, vmi({ tcpSocket: { port: closed } }), 1000);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/ECONNREFUSED/);
  });
  it('an HTTP probe reads the status the server answers, by a named port', async () => {
    let asked = '';
    const port = await listen((s) =>
      s.once('data', (b: Buffer) => {
        asked = String(b);
        s.end(
          asked.startsWith('GET /ready ')
            ? 'HTTP/1.1 204 No Content\r\n\r\n'
            : 'HTTP/1.1 500 No\r\n\r\n',
        );
      }),
    );
    const ok = await runNetworkProbe(
      loopback,
      vmi({ httpGet: { port: 'web', path: '/ready' } }, [{ name: 'web', port }]),
      1000,
    );
    expect(ok).toEqual({ ok: true, message: 'HTTP probe succeeded with statuscode: 204' });
    expect(asked).toContain('User-Agent: kube-probe/');
    const bad = await runNetworkProbe(loopback, vmi({ httpGet: { port, path: '/other' } }), 1000);
    expect(bad).toEqual({ ok: false, message: 'HTTP probe failed with statuscode: 500' });
  });
  it('a server that never answers fails after timeoutSeconds', async () => {
    const port = await listen(() => undefined);
    expect(await runNetworkProbe(loopback, vmi({ httpGet: { port } }), 300)).toEqual({
      ok: false,
      message: 'HTTP probe failed: timeout after 0.3s',
    });
  });
});

describe('probeGuest and networkReadiness', () => {
  it('keeps the state per guest and reports it as the launcher pod readiness', async () => {
    const port = await listen((s) => s.end());
    const v = vmi({ tcpSocket: { port }, periodSeconds: 1 });
    const guest = {};
    expect(networkReadiness(v, guest)).toEqual({
      probe: 'tcpSocket',
      succeeded: false,
      message: 'the readiness probe has not run yet',
    });
    await probeGuest(loopback, v, guest, 0, 10_000);
    expect(networkReadiness(v, guest)).toMatchObject({ probe: 'tcpSocket', succeeded: true });
    expect(networkReadiness(vmi({ guestAgentPing: {} }), guest)).toBeUndefined();
  });
});
