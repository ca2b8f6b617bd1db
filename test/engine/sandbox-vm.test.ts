// A VM's whole life in the sandbox, as a user lives it: the sandbox's own assembly (a real API
// server, vmplane's webhooks and controllers, the local engine, QEMU under TCG) runs in this
// process. A vmplane VM made from the local image boots; its serial console, reached through the
// API server's aggregated subresources.kubevirt.io, shows the boot and answers a command; it is
// paused and resumed (QMP's own status checked), stopped (its QEMU process gone), started again
// and deleted (no process, no disk file left). The console and VNC refuse users RBAC does not
// allow; the VNC screen and the plugin's console page of the real guest are saved in test-results.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { consoleUrl } from '../../cli/src/kubectl-vm/console.ts';
import { startSandbox, type Sandbox } from '../../harness/src/sandbox.ts';
import { kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { isNotFound, KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import type { LocalEngine } from '../../engine/src/controller.ts';
import { instanceFolderName } from '../../engine/src/engine-context.ts';
import { volumeFile } from '../../engine/src/storage/volume-file.ts';
import { TINY_BANNER, TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { openPluginInBrowser, SHOTS } from '../support/browser.ts';
import { captureScreen, toPng } from '../support/rfb.ts';
import {
  ask as askGuest,
  openConsole as openGuestConsole,
  type Console,
} from '../support/sandbox-console.ts';

const RESULTS = join(REPO_ROOT, 'test-results', 'engine');
const VMP = '/apis/vmplane.io/v1alpha1/namespaces/demo/virtualmachines';
const SUB = '/apis/subresources.kubevirt.io/v1/namespaces/demo';

let stateDir = '';
let sandbox: Sandbox;
let kc: KubeConfig;
let rest: KubeRest;
let engine: LocalEngine;
const logged: string[] = [];

type Pv = { spec?: { claimRef?: { namespace?: string; name?: string } } };
type Vm = { status?: { printableStatus?: string; primaryIP?: string; nodeName?: string } };
const vmStatus = async (name: string): Promise<Vm['status'] | undefined> =>
  (await getLive<Vm>(rest, `${VMP}/${name}`))?.status;
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 120_000, 200);
const untilStatus = (name: string, printable: string): Promise<Vm['status']> =>
  until(`VM ${name} ${printable}`, async () => {
    const s = await vmStatus(name);
    return s?.printableStatus === printable ? s : undefined;
  });
const setPower = (name: string, powerState: string): Promise<unknown> =>
  rest.request('PATCH', `${VMP}/${name}`, {
    body: { spec: { powerState } },
    contentType: 'application/merge-patch+json',
  });
const pidOf = (name: string): number | undefined => engine.running.get(`demo/${name}`)?.child.pid;

const openConsole = (name: string, headers: Record<string, string> = {}): Promise<Console> =>
  openGuestConsole(kc, 'demo', name, headers);
/** Types a command on the console and waits for its answer. */
const ask = (name: string, command: string, answer: string): Promise<string> =>
  askGuest(
    kc,
    { ns: 'demo', name, prompt: TINY_PROMPT },
    command,
    answer,
    () => engine.running.get(`demo/${name}`)?.serial.output ?? '(no guest)',
  );

/** A request through the API server with the sandbox admin's credentials, as another user if asked. */
async function call(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ code: number; body: Buffer }> {
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  const url = new URL(path, kc.getCurrentCluster()?.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(method === 'PUT' ? '{}' : undefined);
  });
}

const KUBECTL_VM = ['--import', 'tsx', join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts')];

/** `kubectl vm ...` against the sandbox, as a user runs it. */
function kubectlVm(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...KUBECTL_VM, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

beforeAll(async () => {
  stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-sandbox-vm-`),
  );
  mkdirSync(RESULTS, { recursive: true });
  // The tiny Linux is the guest here; Debian boots in the tests of cloud-init and the agent.
  sandbox = await startSandbox({ stateDir, ui: false, debian: false, log: (l) => logged.push(l) });
  if (!sandbox.parts.engine)
    throw new Error(
      `the sandbox started no local engine (is QEMU installed?):\n${logged.join('\n')}`,
    );
  engine = sandbox.parts.engine.engine;
  kc = kubeConfigFrom(sandbox.kubeconfigPath);
  rest = new KubeRest(kc);
}, 600_000);

afterAll(async () => {
  rest?.close();
  await sandbox?.stop('the test is done');
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('a VM in the sandbox, on the local engine', () => {
  it('boots from the local image: Running with an address, the boot and a shell on its console, a command answered', async () => {
    await rest.request('POST', VMP, {
      body: {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'VirtualMachine',
        metadata: { name: 'tiny-2', labels: { 'vmplane.io/owner': 'team-web' } },
        spec: {
          className: 'best-effort-small',
          image: { kind: 'ClusterVirtualMachineImage', name: 'tiny-linux' },
          disks: [{ name: 'data', size: '512Mi' }],
        },
      },
    });
    const running = await untilStatus('tiny-2', 'Running');
    expect(running?.nodeName).toBeTruthy();
    const c = await openConsole('tiny-2');
    try {
      await until('the boot on the console', async () => c.text().includes(TINY_BANNER));
      expect(c.text()).toMatch(/Linux version \d/);
    } finally {
      c.close();
    }
    // On the engine's node network the VM's address is its launcher pod's, from the node's pod
    // range (KubeVirt's masquerade: the guest takes 10.0.2.2 by DHCP inside the pod, status shows
    // the pod IP); it comes once the engine saw the guest take its address.
    expect(sandbox.parts.engine?.network?.mode).toBe('namespace');
    const addressed = await until('the address the guest took', async () => {
      const vm = await rest.request<{ status?: { primaryIP?: string } }>('GET', `${VMP}/tiny-2`);
      return vm.body.status?.primaryIP;
    });
    expect(addressed).toMatch(/^10\.244\.0\.\d+$/);
    const pods = await rest.request<{ items: { status?: { phase?: string; podIP?: string } }[] }>(
      'GET',
      '/api/v1/namespaces/demo/pods?labelSelector=vm.kubevirt.io/name=tiny-2',
    );
    expect(pods.body.items.map((p) => p.status?.podIP)).toEqual([addressed]);
    // The boot disk (from the image) and the data disk are the guest's virtio disks.
    const answer = await ask('tiny-2', 'echo disks: $(ls /dev/vd*); echo sum-$((40+2))', 'sum-42');
    expect(answer).toContain('disks: /dev/vda /dev/vdb');
  }, 300_000);

  it('pauses and resumes: QEMU says paused, then running, and the guest answers again', async () => {
    await setPower('tiny-2', 'Suspended');
    await untilStatus('tiny-2', 'Paused');
    const qmp = engine.running.get('demo/tiny-2')?.qmp;
    expect(await qmp?.execute('query-status')).toMatchObject({ status: 'paused', running: false });
    await setPower('tiny-2', 'PoweredOn');
    await untilStatus('tiny-2', 'Running');
    expect(await qmp?.execute('query-status')).toMatchObject({ status: 'running', running: true });
    await ask('tiny-2', 'echo resumed-$((1+1))', 'resumed-2');
  }, 120_000);

  it('stops (the QEMU process is gone), starts again and answers', async () => {
    const pid = pidOf('tiny-2');
    expect(pid).toBeDefined();
    await setPower('tiny-2', 'PoweredOff');
    await untilStatus('tiny-2', 'Stopped');
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(engine.running.has('demo/tiny-2')).toBe(false);
    await setPower('tiny-2', 'PoweredOn');
    await untilStatus('tiny-2', 'Running');
    expect(pidOf('tiny-2')).not.toBe(pid);
    await ask('tiny-2', 'echo again-$((2*3))', 'again-6');
  }, 180_000);

  it('refuses the console, pause and the screen to a user RBAC does not allow, and allows them once a Role does', async () => {
    const eve = { 'Impersonate-User': 'eve' };
    await expect(openConsole('tiny-2', eve)).rejects.toThrow(
      /HTTP 403: .*User \\?"eve\\?" cannot get resource \\?"virtualmachineinstances\/console\\?" in API group \\?"subresources.kubevirt.io\\?"/,
    );
    const paused = await call('PUT', `${SUB}/virtualmachineinstances/tiny-2/pause`, eve);
    expect(paused.code).toBe(403);
    expect(JSON.parse(paused.body.toString())).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
    });
    expect(
      (await call('GET', `${SUB}/virtualmachineinstances/tiny-2/vnc/screenshot`, eve)).code,
    ).toBe(403);
    await rest.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'vm-console', namespace: 'demo' },
      rules: [
        {
          apiGroups: ['subresources.kubevirt.io'],
          resources: ['virtualmachineinstances/console'],
          verbs: ['get'],
        },
      ],
    } as never);
    await rest.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'eve-console', namespace: 'demo' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vm-console' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'eve' }],
    } as never);
    const c = await until('eve’s console', () => openConsole('tiny-2', eve).catch(() => undefined));
    c.close();
    // The console only: pausing stays refused.
    expect((await call('PUT', `${SUB}/virtualmachineinstances/tiny-2/pause`, eve)).code).toBe(403);
  }, 120_000);

  it('refuses callers other than the API server’s front proxy', async () => {
    const port = (
      await rest.request<{ spec: { ports: { port: number }[] } }>(
        'GET',
        '/api/v1/namespaces/kubevirt/services/vmplane-local-engine',
      )
    ).body.spec.ports[0]?.port;
    const answer = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: `${SUB}/virtualmachineinstances/tiny-2/pause`,
          method: 'PUT',
          rejectUnauthorized: false,
          headers: { 'X-Remote-User': 'system:admin', 'X-Remote-Group': 'system:masters' },
        },
        (res) => {
          let body = '';
          res.on('data', (b: Buffer) => (body += b.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(answer.code).toBe(401);
    expect(answer.body).toContain('front proxy');
    expect(await engine.running.get('demo/tiny-2')?.qmp.execute('query-status')).toMatchObject({
      status: 'running',
    });
  });

  it('asks the API server itself whether the user the front proxy names may do it', async () => {
    // The API server authorizes a subresource path before it proxies it; the engine asks again,
    // as virt-api does. Here the engine is called with the front proxy's own certificate (from
    // the control plane's folder), so only its SubjectAccessReview stands between eve and the
    // screen.
    const { tempDir } = JSON.parse(readFileSync(join(stateDir, 'sandbox.json'), 'utf8')) as {
      tempDir: string;
    };
    const port = (
      await rest.request<{ spec: { ports: { port: number }[] } }>(
        'GET',
        '/api/v1/namespaces/kubevirt/services/vmplane-local-engine',
      )
    ).body.spec.ports[0]?.port;
    const asProxy = (
      headers: Record<string, string | string[]>,
    ): Promise<{ code: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: `${SUB}/virtualmachineinstances/tiny-2/vnc/screenshot`,
            method: 'GET',
            rejectUnauthorized: false,
            cert: readFileSync(join(tempDir, 'front-proxy-client.crt')),
            key: readFileSync(join(tempDir, 'front-proxy-client.key')),
            headers,
          },
          (res) => {
            let body = '';
            res.on('data', (b: Buffer) => (body += b.toString()));
            res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const eve = await asProxy({ 'X-Remote-User': 'eve', 'X-Remote-Group': 'system:authenticated' });
    expect(eve.code).toBe(403);
    expect(JSON.parse(eve.body)).toMatchObject({
      reason: 'Forbidden',
      message:
        'virtualmachineinstances.subresources.kubevirt.io "tiny-2" is forbidden: User "eve" cannot get resource "virtualmachineinstances/vnc/screenshot" in API group "subresources.kubevirt.io" in the namespace "demo"',
    });
    // Every group counts (one header each): system:masters may.
    const admin = await asProxy({
      'X-Remote-User': 'root',
      'X-Remote-Group': ['system:authenticated', 'system:masters'],
    });
    expect(admin.code).toBe(200);
  });

  it('serves the screen over VNC through the API server; the picture is saved', async () => {
    const opts: Record<string, unknown> = {};
    await kc.applyToHTTPSOptions(opts as never);
    const url = consoleUrl(kc.getCurrentCluster()?.server ?? '', 'demo', 'tiny-2').replace(
      /\/console$/,
      '/vnc',
    );
    const ws = new WebSocket(url, ['plain.kubevirt.io'], opts as WebSocket.ClientOptions);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    try {
      const screen = await captureScreen(ws);
      expect(screen.width).toBeGreaterThanOrEqual(640);
      writeFileSync(join(RESULTS, 'vnc-tiny-2.png'), toPng(screen));
      // Text on the screen: both dark and lit pixels.
      const lit = new Set<number>();
      for (let i = 0; i < screen.rgba.length; i += 4) lit.add(screen.rgba[i]! > 128 ? 1 : 0);
      expect([...lit].sort()).toEqual([0, 1]);
    } finally {
      ws.close();
    }
    const shot = await call('GET', `${SUB}/virtualmachineinstances/tiny-2/vnc/screenshot`);
    expect(shot.code).toBe(200);
    expect(shot.body.subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);

  it('kubectl vm vnc saves a screenshot, and gives a VNC viewer a local port', async () => {
    const file = join(RESULTS, 'screenshot-tiny-2.png');
    rmSync(file, { force: true });
    const saved = await kubectlVm(['vnc', 'tiny-2', '-n', 'demo', '--screenshot', file]);
    expect(saved.out).toContain(`saved the screen of virtualmachine/tiny-2 to ${file}`);
    expect(readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
    const proxy = spawn(process.execPath, [...KUBECTL_VM, 'vnc', 'tiny-2', '-n', 'demo'], {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let printed = '';
      proxy.stdout.on('data', (b: Buffer) => (printed += b.toString()));
      const port = await until('the printed port', async () => {
        const p = /at 127\.0\.0\.1:(\d+)/.exec(printed)?.[1];
        return p ? Number(p) : undefined;
      });
      const greeting = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('data', (b: Buffer) => {
          socket.destroy();
          resolve(b.toString('latin1'));
        });
        socket.once('error', reject);
      });
      // QEMU's VNC server, reached through the API server: the RFB greeting.
      expect(greeting).toBe('RFB 003.008\n');
    } finally {
      proxy.kill('SIGKILL');
    }
  }, 60_000);

  it("shows the real guest's console in the plugin, and what is typed there runs in the guest", async () => {
    mkdirSync(SHOTS, { recursive: true });
    const web = await openPluginInBrowser({ kubeconfig: sandbox.kubeconfigPath, height: 1000 });
    try {
      const { page } = web;
      await page.goto(`${web.ui.url}/c/test/vmplane/vms/demo/tiny-1`);
      await page
        .getByTestId('console-state')
        .filter({ hasText: 'Connected' })
        .waitFor({ timeout: 60_000 });
      const terminal = page.getByTestId('console');
      await terminal.scrollIntoViewIfNeeded();
      await terminal.getByText(TINY_BANNER).waitFor({ timeout: 30_000 });
      await terminal.click();
      await page.keyboard.type('echo browser-$((6*7))');
      await page.keyboard.press('Enter');
      await terminal.getByText('browser-42').first().waitFor({ timeout: 30_000 });
      await page.screenshot({ path: join(SHOTS, 'console-real-guest.png') });
      expect(web.pageErrors).toEqual([]);
    } finally {
      await web.close();
    }
  }, 180_000);

  it('deletes it: no QEMU process, no folder and no disk file left', async () => {
    const pid = pidOf('tiny-2');
    // Its disks: the files of the volumes bound to its DataVolumes' claims (boot and data).
    const pvs = await rest.request<{ items: Pv[] }>('GET', '/api/v1/persistentvolumes');
    const files = pvs.body.items
      .filter((v) => v.spec?.claimRef?.namespace === 'demo')
      .filter((v) => v.spec?.claimRef?.name?.startsWith('tiny-2-'))
      .map((v) => volumeFile(v as never))
      .filter((f): f is string => !!f);
    expect(files.length).toBe(2);
    for (const f of files) expect(existsSync(f), f).toBe(true);
    // Its folder is on the node it was placed on (the sandbox has two).
    const folders = ['0', '1'].map((n) =>
      join(stateDir, 'engine', 'nodes', n, instanceFolderName('demo/tiny-2')),
    );
    const folder = folders.find((f) => existsSync(f));
    expect(folder, folders.join(' or ')).toBeDefined();
    await rest.request('DELETE', `${VMP}/tiny-2`);
    await until('the KubeVirt VM gone', async () => {
      try {
        await rest.request('GET', '/apis/kubevirt.io/v1/namespaces/demo/virtualmachines/tiny-2');
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    });
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(engine.running.has('demo/tiny-2')).toBe(false);
    expect(existsSync(folder ?? '')).toBe(false);
    // Its DataVolumes go with it (garbage collected), then their claims, volumes and files.
    await until('its disks’ files gone', async () => files.every((f) => !existsSync(f)));
  }, 120_000);
});
