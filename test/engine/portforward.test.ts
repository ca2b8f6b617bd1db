// KubeVirt's portforward subresource and the HTTP readiness probe on the local engine, with REAL
// virtctl v1.7.0 through the real API server: one tiny-Linux guest on today's engine network
// (QEMU user-mode, restrict=on; the engine's user-mode NodeNetwork forwards one loopback port per
// connection with hostfwd_add and removes it at once). The guest's busybox httpd serves two files
// on port 8080; which file comes back proves the request's bytes reached the guest.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { parse, stringify } from 'yaml';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { localEngine, type LocalEngine, type Running } from '../../engine/src/controller.ts';
import { unregisterSubresourceApi, type SubresourceServer } from '../../engine/src/api-server.ts';
import { tinyLinuxLibrary } from '../../engine/src/main.ts';
import { ensureTinyLinux, TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { ensureVirtctl } from '../../harness/src/controlplane/virtctl.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { Manager } from '../../kube/src/manager.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import {
  serveSubresources,
  startTestStorage,
  tinyDataVolume,
  type TestStorage,
} from '../support/engine.ts';
import { Virtctl } from '../support/virtctl.ts';
import { installEngineCrds } from '../support/kubevirt.ts';

const RUN = process.env.VMPLANE_RUN_ID ?? 'local';
let ns = '';
let kc: KubeConfig;
let rest: KubeRest;
let manager: Manager;
let engine: LocalEngine;
let server: SubresourceServer | undefined;
let registered = false;
let dir = '';
let v: Virtctl;
let storage: TestStorage | undefined;

type Condition = { type: string; status: string; reason?: string; message?: string };
type Vmi = { status?: { phase?: string; conditions?: Condition[] } };
const VMI = (): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/pf`;
const ready = async (): Promise<Condition | undefined> =>
  (await getLive<Vmi>(rest, VMI()))?.status?.conditions?.find((c) => c.type === 'Ready');
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 180_000) =>
  waitUntil(what, probe as () => Promise<T | undefined>, ms, 250);
const guest = (): Running | undefined => engine.running.get(`${ns}/pf`);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** One HTTP/1.0 exchange over a TCP connection to 127.0.0.1:port: all the answer, or the error. */
function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = connect({ host: '127.0.0.1', port }, () => s.write(`GET ${path} HTTP/1.0\r\n\r\n`));
    s.on('data', (b: Buffer) => (got += String(b)));
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.setTimeout(15_000, () => s.destroy(new Error('no answer in 15 s')));
  });
}

/** The forwards QEMU has for the guest's network now (HMP's `info usernet`). */
async function hostForwards(): Promise<string[]> {
  const out = await guest()?.qmp.execute<string>('human-monitor-command', {
    'command-line': 'info usernet',
  });
  return (out ?? '').split('\n').filter((l) => l.includes('HOST_FORWARD'));
}

beforeAll(async () => {
  const bin = await ensureVirtctl((l) => console.log(`[virtctl] ${l}`));
  kc = kubeConfig();
  rest = new KubeRest(kc);
  await installEngineCrds(kc);
  ns = await createNamespace('portforward');
  dir = mkdtempSync(join(tmpdir(), `vmplane-test-${RUN}-portforward-`));
  const config = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
    contexts: { context: Record<string, unknown> }[];
  };
  for (const c of config.contexts) c.context.namespace = ns;
  writeFileSync(join(dir, 'kubeconfig'), stringify(config), { mode: 0o600 });
  v = new Virtctl(bin, join(dir, 'kubeconfig'), dir);
  const image = await ensureTinyLinux(cacheRoot(), () => undefined);
  manager = new Manager({
    kc,
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  const stateDir = join(dir, 'state');
  storage = await startTestStorage(rest, { ns, stateDir, image });
  engine = localEngine(manager, {
    stateDir,
    image,
    provisioners: [storage.provisioner],
    memoryCapBytes: 128 * 2 ** 20,
    memoryBudgetBytes: () => 192 * 2 ** 20,
    library: [tinyLinuxLibrary(image)],
    maxGraceMs: 1_000,
  });
  server = await serveSubresources(rest, engine, 'portforward');
  registered = true;
  manager.add(engine.definition);
  storage.add(manager);
  await manager.start();
  await rest.create({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'pf', namespace: ns },
    spec: {
      runStrategy: 'Always',
      dataVolumeTemplates: [tinyDataVolume('pf-root', storage.storageClass)],
      template: {
        spec: {
          terminationGracePeriodSeconds: 1,
          domain: {
            devices: {
              disks: [{ name: 'root', disk: { bus: 'virtio' } }],
              interfaces: [
                { name: 'default', masquerade: {}, ports: [{ name: 'http', port: 8080 }] },
              ],
            },
            memory: { guest: '128Mi' },
          },
          networks: [{ name: 'default', pod: {} }],
          // KubeVirt's HTTP probe on the VM's named port, every 2 s.
          readinessProbe: { httpGet: { port: 'http', path: '/a.txt' }, periodSeconds: 2 },
          volumes: [{ name: 'root', dataVolume: { name: 'pf-root' } }],
        },
      },
    },
  } as never);
  const r = await until('the guest running', async () => {
    const g = guest();
    return (await getLive<Vmi>(rest, VMI()))?.status?.phase === 'Running' && g ? g : undefined;
  });
  await r.serial.waitFor(TINY_PROMPT, 300_000);
}, 3_600_000);

afterAll(async () => {
  v?.killAll();
  await manager?.stop();
  await engine?.stopAll();
  await storage?.stop();
  await server?.close();
  if (registered) await unregisterSubresourceApi(rest).catch(() => undefined);
  rest?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('port-forward and readiness probes on the local engine (user-mode network)', () => {
  it('the HTTP probe keeps the VMI unready while nothing listens in the guest', async () => {
    const c = await until('a probe result', async () => {
      const got = await ready();
      return got?.message?.includes('refused') ? got : undefined;
    });
    expect(c).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    expect(c.message).toContain('VMI');
  });

  it('virtctl port-forward vmi/pf carries a request to the guest and its answer back', async () => {
    const r = guest();
    r?.serial.type(
      'mkdir -p /www && echo content-a > /www/a.txt && echo content-b > /www/b.txt && httpd -p 8080 -h /www && echo httpd-up\n',
    );
    await r?.serial.waitFor('httpd-up\r\n', 30_000);
    const local = await freePort();
    v.spawn(['port-forward', 'vmi/pf', `${local}:8080`]);
    const a = await until('the forwarded port answering', () =>
      httpGet(local, '/a.txt').catch(() => undefined),
    );
    expect(a).toMatch(/^HTTP\/1\.[01] 200 OK/);
    expect(a).toMatch(/\r\n\r\ncontent-a\n$/);
    // A second connection is a second forward; the path chose the file.
    expect(await httpGet(local, '/b.txt')).toMatch(/\r\n\r\ncontent-b\n$/);
    expect(await httpGet(local, '/none')).toMatch(/^HTTP\/1\.[01] 404/);
    // Each forward was removed once connected: QEMU forwards nothing now.
    expect(await hostForwards()).toEqual([]);
  });

  it('virtctl port-forward --stdio vm/pf (what ssh uses as its ProxyCommand)', async () => {
    const child = v.spawn(['port-forward', '--stdio', 'vm/pf', '8080']);
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += String(b)));
    child.stdin?.write('GET /b.txt HTTP/1.0\r\n\r\n');
    await until('the answer on stdout', async () => out.includes('content-b') || undefined, 60_000);
    expect(out).toMatch(/^HTTP\/1\.[01] 200 OK/);
    child.kill();
  });

  it('the VMI is Ready once the probe succeeds', async () => {
    const c = await until('Ready', async () =>
      (await ready())?.status === 'True' ? await ready() : undefined,
    );
    expect(c).toMatchObject({ type: 'Ready', status: 'True' });
  });

  it("a port nothing listens on: virt-api's 500 before the upgrade, naming the refusal", async () => {
    const opts: Record<string, unknown> = {};
    await kc.applyToHTTPSOptions(opts as never);
    const server = (kc.getCurrentCluster()?.server ?? '').replace(/^http/, 'ws');
    const url = `${server}/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/pf/portforward/9`;
    const refused = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(url, ['plain.kubevirt.io'], opts as WebSocket.ClientOptions);
      ws.once('open', () => {
        ws.close();
        reject(new Error('a forward to a closed port opened'));
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (b: Buffer) => (body += String(b)));
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      });
      ws.once('error', reject);
    });
    expect(refused.code).toBe(500);
    expect(JSON.parse(refused.body)).toMatchObject({
      kind: 'Status',
      code: 500,
      message: `Internal error occurred: dialing VM: VMI ${ns}/pf refused the connection to port 9`,
    });
    expect(await hostForwards()).toEqual([]);
  });
});
