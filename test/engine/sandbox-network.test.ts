// Networks in the sandbox, end to end as a user lives them: the sandbox's own assembly (a real API
// server, vmplane's webhooks and controllers, the local engine with its node network namespace)
// runs in this process. Two tiny Linux VMs on the pod network and on the example L2 Network `lab`
// (a static pool) get their addresses at admission, ping each other there and keep them across a
// stop/start; one serves HTTP on two ports behind a VirtualMachineService, which the other reaches
// at its ClusterIP (vmplane wrote the Service and EndpointSlices, the engine programmed the
// translation as kube-proxy would); a deny-all NetworkPolicy cuts that off, and an allow rule on
// one port lets only that port through. `kubectl vm port-forward` reaches the served port from this
// host's loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { startSandbox, type Sandbox } from '../../harness/src/sandbox.ts';
import { kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import type { LocalEngine } from '../../engine/src/controller.ts';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { ask as askGuest } from '../support/sandbox-console.ts';

const NS = 'demo';
const API = `/apis/vmplane.io/v1alpha1/namespaces/${NS}`;
const NETPOL = `/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`;
const LAB = /^192\.168\.100\.\d+$/;

let stateDir = '';
let sandbox: Sandbox;
let kc: KubeConfig;
let rest: KubeRest;
let engine: LocalEngine;
const logged: string[] = [];

type Iface = { name: string; network?: string; macAddress?: string; ipAddress?: string };
type Vm = {
  spec: { network?: { interfaces?: Iface[] } };
  status?: {
    printableStatus?: string;
    interfaces?: (Iface & { ipAddresses?: string[] })[];
  };
};
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 180_000, 250);
const vm = async (name: string): Promise<Vm | undefined> =>
  getLive<Vm>(rest, `${API}/virtualmachines/${name}`);
const setPower = (name: string, powerState: string): Promise<unknown> =>
  rest.request('PATCH', `${API}/virtualmachines/${name}`, {
    body: { spec: { powerState } },
    contentType: 'application/merge-patch+json',
  });
const untilStatus = (name: string, printable: string): Promise<Vm> =>
  until(`VM ${name} ${printable}`, async () => {
    const v = await vm(name);
    return v?.status?.printableStatus === printable ? v : undefined;
  });

/** Runs a shell command on a guest's serial console; resolves with its output and exit code. */
async function sh(name: string, command: string): Promise<{ out: string; rc: number }> {
  // The marker is split in the typed line, so only the answer (not the echo) carries it whole.
  const tail = await askGuest(
    kc,
    { ns: NS, name, prompt: TINY_PROMPT },
    `${command}; echo "RC""=$?."`,
    'RC=',
    () => engine.running.get(`${NS}/${name}`)?.serial.output ?? '(no guest)',
  );
  const done = await until(`${name}: the end of "${command}"`, async () =>
    /RC=(\d+)\./.test(tail) ? tail : undefined,
  ).catch(() => tail);
  const m = /RC=(\d+)\./.exec(done);
  return { out: done, rc: m ? Number(m[1]) : -1 };
}

/** The VM's address on `lab` as admission allocated it, once the guest was seen to hold it. */
async function labAddress(name: string): Promise<{ ip: string; mac: string }> {
  return until(`${name} holds its lab address`, async () => {
    const v = await vm(name);
    const spec = v?.spec.network?.interfaces?.find((i) => i.network === 'lab');
    const seen = v?.status?.interfaces?.find((i) => i.name === spec?.name);
    return spec?.ipAddress && spec.macAddress && seen?.ipAddresses?.includes(spec.ipAddress)
      ? { ip: spec.ipAddress, mac: spec.macAddress }
      : undefined;
  });
}

const tinyVm = (name: string, role: string): object => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachine',
  metadata: { name, labels: { role, 'vmplane.io/owner': 'team-web' } },
  spec: {
    className: 'best-effort-small',
    image: { kind: 'ClusterVirtualMachineImage', name: 'tiny-linux' },
    network: { interfaces: [{ name: 'nic0' }, { name: 'nic1', network: 'lab' }] },
  },
});

/**
 * An HTTP GET of `address:port` from the client guest with busybox nc (4 s to connect): the
 * answer, or the failure's code. (busybox-static's wget crashes in its name lookup.)
 */
const fetchFrom = (address: string, port: number): Promise<{ out: string; rc: number }> =>
  sh('net-client', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 4 ${address} ${port}`);

beforeAll(async () => {
  stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-sandbox-net-`),
  );
  sandbox = await startSandbox({ stateDir, ui: false, debian: false, log: (l) => logged.push(l) });
  if (!sandbox.parts.engine)
    throw new Error(`the sandbox started no local engine:\n${logged.join('\n')}`);
  engine = sandbox.parts.engine.engine;
  kc = kubeConfigFrom(sandbox.kubeconfigPath);
  rest = new KubeRest(kc);
  await rest.request('POST', `${API}/virtualmachines`, { body: tinyVm('net-server', 'server') });
  await rest.request('POST', `${API}/virtualmachines`, { body: tinyVm('net-client', 'client') });
}, 600_000);

afterAll(async () => {
  rest?.close();
  await sandbox?.stop('the test is done');
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('networks in the sandbox', () => {
  let server = { ip: '', mac: '' };
  let client = { ip: '', mac: '' };

  it('gives each VM a lab address from the pool at admission, which the guests hold and ping each other at', async () => {
    server = await labAddress('net-server');
    client = await labAddress('net-client');
    expect(server.ip).toMatch(LAB);
    expect(client.ip).toMatch(LAB);
    expect(server.ip).not.toBe(client.ip);
    expect(server.mac).not.toBe(client.mac);
    const ping = await sh('net-client', `ping -c 2 -W 3 ${server.ip}`);
    expect(ping.out).toContain(`bytes from ${server.ip}`);
    expect(ping.rc).toBe(0);
    // The Network counts what it gave out.
    const lab = await getLive<{ status?: { pool?: { allocated?: number } } }>(
      rest,
      '/apis/vmplane.io/v1alpha1/networks/lab',
    );
    expect(lab?.status?.pool?.allocated).toBeGreaterThanOrEqual(2);
  }, 300_000);

  it('keeps the MAC and the lab address across a stop and a start, and the guests meet again there', async () => {
    await setPower('net-server', 'PoweredOff');
    await untilStatus('net-server', 'Stopped');
    await setPower('net-server', 'PoweredOn');
    await untilStatus('net-server', 'Running');
    expect(await labAddress('net-server')).toEqual(server);
    const ping = await sh('net-client', `ping -c 2 -W 3 ${server.ip}`);
    expect(ping.out).toContain(`bytes from ${server.ip}`);
  }, 300_000);

  let clusterIP = '';
  it('reaches the server through a VirtualMachineService: its ClusterIP, its NodePort at the node address and its load balancer address (vmplane wrote the Service and its EndpointSlices)', async () => {
    // Two ports served by busybox httpd in the server guest.
    const started = await sh(
      'net-server',
      'mkdir -p /www && echo page-from-server >/www/index.html && httpd -p 8080 -h /www && httpd -p 8081 -h /www',
    );
    expect(started.rc).toBe(0);
    await rest.request('POST', `${API}/virtualmachineservices`, {
      body: {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'VirtualMachineService',
        metadata: { name: 'net-web' },
        spec: {
          type: 'LoadBalancer',
          selector: { role: 'server' },
          ports: [
            { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
            { name: 'alt', protocol: 'TCP', port: 81, targetPort: 8081 },
          ],
        },
      },
    });
    type Status = {
      clusterIP?: string;
      readyEndpoints?: number;
      loadBalancer?: { ingress?: { ip?: string }[] };
    };
    const status = await until('the service’s addresses and one ready endpoint', async () => {
      const s = await getLive<{ status?: Status }>(rest, `${API}/virtualmachineservices/net-web`);
      return s?.status?.readyEndpoints === 1 && s.status.loadBalancer?.ingress?.[0]?.ip
        ? s.status
        : undefined;
    });
    clusterIP = status.clusterIP ?? '';
    expect(clusterIP).toMatch(/^10\.0\.0\.\d+$/);
    // The load balancer's address comes from the engine's pool, as MetalLB gives one.
    const lbIP = status.loadBalancer?.ingress?.[0]?.ip ?? '';
    expect(lbIP).toMatch(/^10\.244\.255\.\d+$/);
    const svc = await getLive<{ spec: { ports: { port: number; nodePort?: number }[] } }>(
      rest,
      `/api/v1/namespaces/${NS}/services/net-web`,
    );
    const nodePort = svc?.spec.ports.find((p) => p.port === 80)?.nodePort ?? 0;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    const page = await until('the page through the ClusterIP', async () => {
      const r = await fetchFrom(clusterIP, 80);
      return r.rc === 0 && r.out.includes('page-from-server') ? r : undefined;
    });
    expect(page.out).toMatch(/^HTTP\/1\.[01] 200 OK/m);
    expect((await fetchFrom(clusterIP, 81)).out).toContain('page-from-server');
    expect((await fetchFrom(lbIP, 80)).out).toContain('page-from-server');
    // The node's address inside the engine's namespace.
    expect((await fetchFrom('10.244.0.1', nodePort)).out).toContain('page-from-server');
  }, 300_000);

  it('is cut off by a deny-all NetworkPolicy, and an allow rule on one port lets only that port through', async () => {
    await rest.request('POST', NETPOL, {
      body: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'server-deny-all' },
        spec: { podSelector: { matchLabels: { role: 'server' } }, policyTypes: ['Ingress'] },
      },
    });
    const denied = await until('the deny-all policy in force', async () => {
      const r = await fetchFrom(clusterIP, 80);
      return r.rc !== 0 ? r : undefined;
    });
    expect(denied.out).not.toContain('page-from-server');
    expect((await fetchFrom(clusterIP, 81)).rc).not.toBe(0);
    await rest.request('POST', NETPOL, {
      body: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'server-http-from-clients' },
        spec: {
          podSelector: { matchLabels: { role: 'server' } },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ podSelector: { matchLabels: { role: 'client' } } }],
              ports: [{ protocol: 'TCP', port: 8080 }],
            },
          ],
        },
      },
    });
    const allowed = await until('port 8080 let through', async () => {
      const r = await fetchFrom(clusterIP, 80);
      return r.rc === 0 ? r : undefined;
    });
    expect(allowed.out).toContain('page-from-server');
    const other = await fetchFrom(clusterIP, 81);
    expect(other.rc).not.toBe(0);
    expect(other.out).not.toContain('page-from-server');
  }, 300_000);

  it('forwards a loopback port of this host to the guest with kubectl vm port-forward', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts'),
        'port-forward',
        'net-server',
        '-n',
        NS,
        ':8080',
      ],
      { env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath }, stdio: 'pipe' },
    );
    let said = '';
    child.stdout?.on('data', (b: Buffer) => (said += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (said += b.toString()));
    try {
      const port = await until(
        'the listener kubectl vm port-forward made',
        async () => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(said)?.[1],
      );
      const body = await until('the page through the forwarded port', async () => {
        const r = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
        return r?.ok ? r.text() : undefined;
      }).catch((e: Error) => {
        throw new Error(`${e.message}; kubectl vm port-forward said:\n${said}`);
      });
      expect(body).toContain('page-from-server');
    } finally {
      child.kill('SIGTERM');
    }
  }, 180_000);
});
