// `kubectl vm port-forward` and `kubectl vm ssh`, run as the user runs them, against a test double
// of KubeVirt's portforward subresource: a TLS websocket server speaking plain.kubevirt.io on
// loopback (the API server cannot serve it without KubeVirt; the engine's own is tested in
// test/engine/ssh.test.ts). `ssh` is the system's OpenSSH client, really run: the double plays an
// sshd long enough to see the client's banner arrive through the ProxyCommand.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { kvmArgv } from '../support/kubectl-vm.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';

const ca = createCertificateAuthority('portforward-double', 1);
const tls = issueCertificate(ca, {
  commonName: 'double',
  ipAddresses: ['127.0.0.1'],
  usages: ['server'],
  validityDays: 1,
});
const dir = mkdtempSync(join(tmpdir(), 'vmplane-portforward-'));
const kubeconfig = join(dir, 'kubeconfig');
const PF = '/apis/subresources.kubevirt.io/v1/namespaces/demo/virtualmachineinstances';
let server: Server;
/** What reached the double's port 22 (the ssh double), and how. */
const sshd = { received: '', protocol: '' };

function vm(name: string, printableStatus: string): object {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: 'demo', uid: `uid-${name}` },
    spec: {},
    status: { printableStatus },
  };
}

beforeAll(async () => {
  server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const m = /^\/apis\/vmplane\.io\/v1alpha1\/namespaces\/demo\/virtualmachines\/(\w+)$/.exec(
      req.url ?? '',
    );
    if (m && (m[1] === 'web' || m[1] === 'off'))
      return res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify(vm(m[1], m[1] === 'web' ? 'Running' : 'Stopped')));
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (p) => (p.has('plain.kubevirt.io') ? 'plain.kubevirt.io' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.headers.authorization !== 'Bearer test-token') {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    if (req.url === `${PF}/web/portforward/9/tcp`) {
      const body = JSON.stringify({
        kind: 'Status',
        message: 'dial tcp 10.0.2.2:9: connect: connection refused',
      });
      socket.end(
        `HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (req.url === `${PF}/web/portforward/22/tcp`) {
        sshd.protocol = ws.protocol;
        ws.send(Buffer.from('SSH-2.0-OpenSSH_9.2p1 double\r\n'));
        ws.on('message', (d: Buffer) => {
          sshd.received += d.toString('latin1');
          if (sshd.received.includes('\r\n')) ws.close(1000);
        });
      } else if (req.url === `${PF}/web/portforward/7/tcp`)
        ws.on('message', (d: Buffer) => ws.send(Buffer.from(d.toString().toUpperCase())));
      else ws.close(1011, 'unexpected path');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'double',
          cluster: {
            server: `https://127.0.0.1:${port}`,
            'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
          },
        },
      ],
      users: [{ name: 'u', user: { token: 'test-token' } }],
      contexts: [{ name: 'double', context: { cluster: 'double', user: 'u', namespace: 'demo' } }],
      'current-context': 'double',
    }),
  );
  // The cluster's ssh directory, as the sandbox makes one (no key in it: ssh's own are used).
  mkdirSync(join(dir, 'ssh'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** `kubectl vm ARGS` as a process; `feed` gets its stdin and may end it. */
function kubectlVm(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; feed?: (stdin: NodeJS.WritableStream) => void } = {},
): { done: Promise<Run>; stdout: NodeJS.ReadableStream; kill: () => void } {
  const child = spawn(process.execPath, kvmArgv(args, kubeconfig), {
    cwd: REPO_ROOT,
    env: o.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const run: Run = { code: null, out: '', err: '' };
  child.stdout.on('data', (b: Buffer) => (run.out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (run.err += b.toString()));
  if (o.feed) o.feed(child.stdin);
  else child.stdin.end();
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ ...run, code })));
  return { done, stdout: child.stdout, kill: () => child.kill('SIGTERM') };
}

describe('kubectl vm port-forward --stdio', () => {
  it("carries stdin to the guest's port and its bytes to stdout, then exits 0", async () => {
    const r = await kubectlVm(['port-forward', '--stdio', 'web', '7'], {
      feed: (stdin) => {
        stdin.write('hello ');
        setTimeout(() => stdin.end('guest'), 200);
      },
    }).done;
    expect(r).toMatchObject({ code: 0, out: 'HELLO GUEST', err: '' });
  }, 60_000);

  it('says the VM is not running, and how to start it', async () => {
    const r = await kubectlVm(['port-forward', '--stdio', 'off', '22']).done;
    expect(r.code).toBe(1);
    expect(r.err).toContain('virtualmachine/off is not running (status: Stopped)');
    expect(r.err).toContain('kubectl vm start off --wait');
  }, 60_000);
});

describe('kubectl vm port-forward (listening)', () => {
  it('listens on loopback; each connection reaches the guest port, a refused one is named', async () => {
    const pf = kubectlVm(['port-forward', 'web', ':7', ':9'], { feed: () => undefined });
    let shown = '';
    pf.stdout.on('data', (b: Buffer) => (shown += b.toString()));
    const deadline = Date.now() + 30_000;
    while ((shown.match(/Forwarding from/g) ?? []).length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const ports = [...shown.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(ports.map(([, remote]) => remote)).toEqual([7, 9]);
    const talk = (port: number, text: string): Promise<string> =>
      new Promise((resolve, reject) => {
        let got = '';
        const s = connect(port, '127.0.0.1', () => s.write(text));
        s.on('data', (b: Buffer) => {
          got += b.toString();
          if (got.length >= text.length) s.end();
        });
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
    expect(await talk(ports[0]![0]!, 'abc')).toBe('ABC');
    expect(await talk(ports[0]![0]!, 'second')).toBe('SECOND');
    expect(await talk(ports[1]![0]!, 'x')).toBe('');
    pf.kill();
    const r = await pf.done;
    expect(r.err).toContain(
      'error: port 9 of virtualmachine/web in namespace demo refused the connection (nothing listens there in the guest?)',
    );
  }, 60_000);
});

describe('kubectl vm ssh', () => {
  it("runs the system ssh with this CLI's port-forward --stdio as its ProxyCommand", async () => {
    const r = await kubectlVm(['ssh', 'demo@web', '--', 'true']).done;
    // The double is no sshd: it takes ssh's banner and hangs up, so ssh fails after that.
    expect(r.code, r.err).toBe(255);
    expect(sshd.protocol).toBe('plain.kubevirt.io');
    expect(sshd.received).toMatch(/^SSH-2\.0-OpenSSH_\S+/);
  }, 60_000);

  it('says which package to install when there is no ssh', async () => {
    const r = await kubectlVm(['ssh', 'web'], {
      env: { ...process.env, PATH: join(dir, 'no-such-dir') },
    }).done;
    expect(r.code).toBe(127);
    expect(r.err).toContain('install the package openssh-client');
  }, 60_000);

  it('refuses a VM that is not running', async () => {
    const off = await kubectlVm(['ssh', 'demo@off']).done;
    expect(off.code).toBe(1);
    expect(off.err).toContain('virtualmachine/off is not running (status: Stopped)');
  }, 60_000);
});
