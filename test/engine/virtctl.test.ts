// KubeVirt's own client, virtctl v1.7.0 (built from the Go modules, harness/src/controlplane/
// virtctl.ts), driving the local engine through the real API server: the engine serves
// subresources.kubevirt.io as an aggregated API, as virt-api does, and runs the guests under QEMU.
// Every expected answer (exit code, text, what changes and what does not) is KubeVirt v1.7.0's,
// with the source file it follows (paths in the kubevirt.io/kubevirt, kubevirt.io/client-go and
// kubevirt.io/api v1.7.0 modules); /work/virt-api-wire.md sums them up. One guest ("tiny") is
// booted and shared by the cases, a second VM ("big") never gets a machine: its instance stays
// Pending. Software emulation makes boots slow, so each case brings the guest to the state it
// needs (through the kubevirt.io API, not virtctl) only when an earlier case left it elsewhere.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:https';
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
/** The guest ignores ACPI's power button, so a graceful stop takes the whole grace period. */
const GRACE_S = 20;
const CONNECTED = 'Successfully connected to tiny console. Press Ctrl+] or Ctrl+5 to exit console.';

let ns = '';
let kc: KubeConfig;
let rest: KubeRest;
let manager: Manager;
let engine: LocalEngine;
let server: SubresourceServer | undefined;
let registered = false;
let stateDir = '';
let dir = '';
let v: Virtctl;
let storage: TestStorage | undefined;

type Condition = { type: string; status: string };
type Obj = {
  metadata: { uid?: string };
  spec: Record<string, any>;
  status?: Record<string, any>;
};
const VM = (name = 'tiny'): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;
const VMI = (name = 'tiny'): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
const SUB = (name = 'tiny'): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 120_000) =>
  waitUntil(what, probe as () => Promise<T | undefined>, ms, 200);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const guest = (name = 'tiny'): Running | undefined => engine.running.get(`${ns}/${name}`);
const alive = (pid: number | undefined): boolean => {
  if (!pid) return false;
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
};
const hasCondition = (o: Obj | undefined, type: string): boolean =>
  !!(o?.status?.conditions as Condition[] | undefined)?.some(
    (c) => c.type === type && c.status === 'True',
  );
async function qemuRunning(name = 'tiny'): Promise<boolean | undefined> {
  const r = guest(name);
  if (!r) return undefined;
  const s = (await r.qmp.execute('query-status')) as { running?: boolean };
  return s.running;
}

/** The state a dry run must leave alone. */
async function snapshot(): Promise<{
  runStrategy: unknown;
  requests: unknown;
  vmi?: { uid?: string; phase?: string; paused: boolean; grace?: number };
  pid?: number;
  qemuRunning?: boolean;
}> {
  const vm = await get(VM());
  const vmi = await get(VMI());
  const pid = guest()?.child.pid;
  const running = await qemuRunning();
  return {
    runStrategy: vm?.spec.runStrategy,
    requests: vm?.status?.stateChangeRequests ?? [],
    ...(vmi
      ? {
          vmi: {
            uid: vmi.metadata.uid,
            phase: vmi.status?.phase,
            paused: hasCondition(vmi, 'Paused'),
            grace: vmi.spec.terminationGracePeriodSeconds,
          },
        }
      : {}),
    ...(pid ? { pid } : {}),
    ...(running !== undefined ? { qemuRunning: running } : {}),
  };
}

async function setRunStrategy(runStrategy: string, name = 'tiny'): Promise<void> {
  await rest.request('PATCH', VM(name), {
    body: { spec: { runStrategy, running: null } },
    contentType: 'application/merge-patch+json',
  });
}

/** A PUT on a subresource through the API server, as the test's admin (setup only). */
function put(path: string): Promise<{ code: number; type: string; body: string }> {
  return call('PUT', path);
}

async function call(
  method: string,
  path: string,
): Promise<{ code: number; type: string; body: string }> {
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  const url = new URL(path, kc.getCurrentCluster()?.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, method }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () =>
        resolve({
          code: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          body,
        }),
      );
    });
    req.on('error', reject);
    req.end(method === 'PUT' ? '{}' : undefined);
  });
}

/** Setup: no instance and no guest process, runStrategy Halted. */
async function halted(): Promise<void> {
  if ((await get(VM()))?.spec.runStrategy !== 'Halted') await setRunStrategy('Halted');
  if (guest()) await engine.stopAll();
  await until('no instance and no guest', async () => !guest() && !(await get(VMI())));
}

/** Setup: the guest booted to its shell prompt, running (not paused), runStrategy Always. */
async function booted(): Promise<Running> {
  const vm = await get(VM());
  if (vm?.spec.runStrategy !== 'Always') await setRunStrategy('Always');
  const r = await until('the guest process and its instance Running', async () => {
    const vmi = await get(VMI());
    const g = guest();
    return vmi?.status?.phase === 'Running' && g && alive(g.child.pid) ? g : undefined;
  });
  if ((await qemuRunning()) === false) {
    await put(`${SUB()}/unpause`);
    await until('the guest running', async () => (await qemuRunning()) === true);
  }
  await r.serial.waitFor(TINY_PROMPT, 180_000);
  return r;
}

/** Setup: the guest paused (Paused condition on the instance, QEMU stopped). */
async function paused(): Promise<void> {
  const vmi = await get(VMI());
  if (!vmi || vmi.status?.phase !== 'Running') await booted();
  if ((await qemuRunning()) !== false) await put(`${SUB()}/pause`);
  await until(
    'the guest paused',
    async () => (await qemuRunning()) === false && hasCondition(await get(VMI()), 'Paused'),
  );
}

beforeAll(async () => {
  const bin = await ensureVirtctl((l) => console.log(`[virtctl] ${l}`));
  kc = kubeConfig();
  const serverUrl = new URL(kc.getCurrentCluster()?.server ?? '');
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(serverUrl.hostname))
    throw new Error(`the test API server is not on loopback: ${serverUrl.href}`);
  rest = new KubeRest(kc);
  await installEngineCrds(kc);
  ns = await createNamespace('virtctl');
  dir = mkdtempSync(join(tmpdir(), `vmplane-test-${RUN}-virtctl-`));
  stateDir = join(dir, 'state');
  // virtctl's kubeconfig: the test cluster's (loopback), in this file's namespace.
  const config = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
    contexts: { context: Record<string, unknown> }[];
  };
  for (const c of config.contexts) c.context.namespace = ns;
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, stringify(config), { mode: 0o600 });
  v = new Virtctl(bin, kubeconfigPath, dir);

  const image = await ensureTinyLinux(cacheRoot(), () => undefined);
  manager = new Manager({
    kc,
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  const disks = await startTestStorage(rest, { ns, stateDir, image });
  storage = disks;
  engine = localEngine(manager, {
    stateDir,
    image,
    provisioners: [disks.provisioner],
    memoryCapBytes: 256 * 2 ** 20,
    // "tiny" (128 MiB) fits, "big" (capped at 256 MiB) never does: its instance stays Pending.
    memoryBudgetBytes: () => 192 * 2 ** 20,
    library: [tinyLinuxLibrary(image)],
    maxGraceMs: GRACE_S * 1000,
    unschedulableRetryMs: 1_000,
  });
  server = await serveSubresources(rest, engine, 'virtctl');
  registered = true;
  manager.add(engine.definition);
  disks.add(manager);
  await manager.start();
  const vm = (name: string, memory: string, runStrategy: string): object => ({
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      runStrategy,
      // It boots the library's tiny Linux from its DataVolume.
      dataVolumeTemplates: [tinyDataVolume(`${name}-root`, disks.storageClass)],
      template: {
        spec: {
          terminationGracePeriodSeconds: GRACE_S,
          domain: {
            devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] },
            memory: { guest: memory },
          },
          volumes: [{ name: 'root', dataVolume: { name: `${name}-root` } }],
        },
      },
    },
  });
  await rest.create(vm('tiny', '128Mi', 'Halted') as never);
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

describe('virtctl v1.7.0 against the local engine', () => {
  it('version: the client says v1.7.0, the server v1.7.0 marked as the local engine', async () => {
    // pkg/virtctl/version/version.go prints both with %#v; the server's comes from
    // GET /apis/subresources.kubevirt.io/v1/version (pkg/virt-api/api.go, "version" route;
    // client-go kubecli/version.go reads the group's preferred version first).
    const r = await v.run('version');
    expect.soft(r.stderr).toBe('');
    expect.soft(r.code).toBe(0);
    expect(r.stdout).toContain('Client Version: version.Info{GitVersion:"v1.7.0"');
    // The engine says what runs: KubeVirt's release whose API it plays, with build metadata that
    // names it (virtctl compares major.minor only, so it raises no version warning).
    expect(r.stdout).toContain(
      'Server Version: version.Info{GitVersion:"v1.7.0+vmplane.local-engine"',
    );
  });

  it('start --dry-run on a Halted VM: accepted, and nothing starts', async () => {
    await halted();
    const before = await snapshot();
    // pkg/virtctl/vm/start.go + vm/common.go (setDryRunOption prints "Dry Run execution");
    // pkg/virt-api/rest/lifecycle.go StartVMRequestHandler sends its patch with dryRun: 202.
    const r = await v.run('start', 'tiny', '--dry-run');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'Dry Run execution\nVM tiny was scheduled to start\n',
      stderr: '',
    });
    await sleep(3_000);
    expect(await snapshot()).toEqual(before);
    expect(before).toEqual({ runStrategy: 'Halted', requests: [] });
  }, 240_000);

  it('start --paused: the instance starts paused (the guest never runs) and a second start is refused', async () => {
    await halted();
    const r = await v.run('start', 'tiny', '--paused');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'VM tiny was scheduled to start\n',
      stderr: '',
    });
    // lifecycle.go: Halted + paused -> status.stateChangeRequests [Start{data: {paused: "true"}}];
    // pkg/virt-controller/watch/vm/vm.go then sets runStrategy Always (syncRunStrategy) and makes
    // the instance with spec.startStrategy Paused (SetupVMIFromVM / hasStartPausedRequest); the
    // guest comes up Running with the Paused condition and its CPUs stopped.
    const vmi = await until(
      'the instance Running and Paused',
      async () => {
        const x = await get(VMI());
        return x?.status?.phase === 'Running' && hasCondition(x, 'Paused') ? x : undefined;
      },
      60_000,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}; now: ${JSON.stringify(await snapshot())}`);
    });
    expect(vmi.spec.startStrategy).toBe('Paused');
    expect(await qemuRunning()).toBe(false);
    expect((await get(VM()))?.spec.runStrategy).toBe('Always');
    // The guest printed nothing: it never ran.
    expect(guest()?.serial.output ?? '').not.toContain(TINY_PROMPT);
    // A live instance (paused is live): lifecycle.go StartVMRequestHandler answers 409
    // "VM is already running"; virtctl says "Error starting VirtualMachine <message>".
    const again = await v.run('start', 'tiny');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'Error starting VirtualMachine Operation cannot be fulfilled on virtualmachine.kubevirt.io "tiny": VM is already running',
    );
  }, 300_000);

  it('unpause vm --dry-run leaves it paused; unpause vm resumes it; a second unpause is refused', async () => {
    await paused();
    const before = await snapshot();
    // pkg/virtctl/unpause/unpause.go; lifecycle.go UnpauseVMIRequestHandler: with dryRun [All]
    // every check runs and virt-handler is not called (200).
    const dry = await v.run('unpause', 'vm', 'tiny', '--dry-run');
    expect({ code: dry.code, stdout: dry.stdout, stderr: dry.stderr }).toEqual({
      code: 0,
      stdout: 'Dry Run execution\nVMI tiny was scheduled to unpause\n',
      stderr: '',
    });
    await sleep(2_000);
    expect(await snapshot()).toEqual(before);
    expect(before.qemuRunning).toBe(false);

    const r = await v.run('unpause', 'vm', 'tiny');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'VMI tiny was scheduled to unpause\n',
      stderr: '',
    });
    await until(
      'the guest running, without the Paused condition',
      async () => (await qemuRunning()) === true && !hasCondition(await get(VMI()), 'Paused'),
    );
    // lifecycle.go UnpauseVMIRequestHandler: no Paused condition -> 409 "VMI is not paused".
    const again = await v.run('unpause', 'vm', 'tiny');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'Error unpausing VirtualMachineInstance tiny: Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "tiny": VMI is not paused',
    );
  }, 300_000);

  it('console: the shell prompt of the running guest, a command answered, Ctrl+] leaves', async () => {
    await booted();
    // pkg/virtctl/console/console.go: the banner on stderr, the guest's bytes on stdout, 0x1d
    // ends the session with exit 0.
    const r = await v.console([v.bin, 'console', 'tiny'], {
      connected: CONNECTED,
      prompt: TINY_PROMPT,
      probe: 'echo virtctl-$((6*7))',
      answer: 'virtctl-42',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(CONNECTED);
  }, 300_000);

  it('pause vm --dry-run leaves it running; pause vm pauses it; a second pause is refused', async () => {
    await booted();
    const before = await snapshot();
    // pkg/virtctl/pause/pause.go (cmd.Println goes to the root's output, stdout);
    // lifecycle.go PauseVMIRequestHandler: dryRun [All] -> checks only, 200.
    const dry = await v.run('pause', 'vm', 'tiny', '--dry-run');
    expect({ code: dry.code, stdout: dry.stdout, stderr: dry.stderr }).toEqual({
      code: 0,
      stdout: 'Dry Run execution\nVMI tiny was scheduled to pause\n',
      stderr: '',
    });
    await sleep(2_000);
    expect(await snapshot()).toEqual(before);
    expect(before.qemuRunning).toBe(true);

    const r = await v.run('pause', 'vm', 'tiny');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'VMI tiny was scheduled to pause\n',
      stderr: '',
    });
    await until(
      'the guest paused, with the Paused condition',
      async () => (await qemuRunning()) === false && hasCondition(await get(VMI()), 'Paused'),
    );
    // lifecycle.go PauseVMIRequestHandler: Paused condition present -> 409 "VMI is already paused".
    const again = await v.run('pause', 'vm', 'tiny');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'Error pausing VirtualMachineInstance tiny: Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "tiny": VMI is already paused',
    );
    const resumed = await v.run('unpause', 'vm', 'tiny');
    expect(resumed.code).toBe(0);
    await until('the guest running again', async () => (await qemuRunning()) === true);
  }, 300_000);

  it('vnc --proxy-only: a local port on 127.0.0.1 that speaks RFB', async () => {
    await booted();
    // pkg/virtctl/vnc/vnc.go: connects the websocket first, then listens on 127.0.0.1 and prints
    // {"port":N}; the first client is piped to the guest's VNC server.
    const child = v.spawn(['vnc', 'tiny', '--proxy-only']);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      const port = await until(
        'the printed port',
        async () => {
          if (child.exitCode !== null)
            throw new Error(`virtctl vnc ended (exit ${child.exitCode}): ${stderr}`);
          const p = /\{"port":(\d+)\}/.exec(stdout)?.[1];
          return p ? Number(p) : undefined;
        },
        30_000,
      );
      const greeting = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('data', (b: Buffer) => {
          socket.destroy();
          resolve(b.toString('latin1'));
        });
        socket.once('error', reject);
      });
      expect(greeting).toBe('RFB 003.008\n');
    } finally {
      child.kill('SIGKILL');
    }
  }, 300_000);

  it('guestosinfo on a guest without an agent: virt-api refuses, as a text 500', async () => {
    await booted();
    // pkg/virt-api/rest/subresource.go GuestOSInfo: no AgentConnected condition -> a 409
    // StatusError, written by httpGetRequestHandler with WriteError(500, err): HTTP 500 and the
    // message as plain text.
    const raw = await call('GET', `${SUB()}/guestosinfo`);
    expect.soft(raw.code).toBe(500);
    expect.soft(raw.type).toMatch(/^text\/plain/);
    expect
      .soft(raw.body)
      .toBe(
        'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "tiny": VMI does not have guest agent connected',
      );
    // pkg/virtctl/vm/guestosinfo.go wraps client-go's error for a text answer (k8s.io/client-go
    // rest/request.go newUnstructuredResponseError; apimachinery errors.NewGenericServerResponse).
    const r = await v.run('guestosinfo', 'tiny');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Error getting guestosinfo of VirtualMachineInstance tiny, an error on the server ("Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io \\"tiny\\": VMI does not have guest agent connected") has prevented the request from succeeding (get virtualmachineinstances.kubevirt.io tiny)',
    );
  }, 300_000);

  it('migrate: KubeVirt’s own migration admission refuses a guest bridged to the pod network, in virt-api’s words', async () => {
    await booted();
    const r = await v.run('migrate', 'tiny');
    expect(r.code).toBe(1);
    // virt-api wraps the webhook's denial as an internal error (MigrateVMRequestHandler).
    // KubeVirt's default binding for the pod network is bridge: interfaces are checked first.
    expect(r.stderr).toContain(
      'Error migrating VirtualMachine Internal error occurred: admission webhook "migration-create-validator.kubevirt.io" denied the request: Cannot migrate VMI, Reason: InterfaceNotLiveMigratable',
    );
    const left = await rest.request<{ items: unknown[] }>(
      'GET',
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancemigrations`,
    );
    expect(left.body.items).toEqual([]);
  }, 300_000);

  it('stop --dry-run and stop --force --grace-period=0 --dry-run change nothing', async () => {
    await booted();
    const before = await snapshot();
    expect(before.vmi?.grace).toBe(GRACE_S);
    // pkg/virtctl/vm/stop.go; lifecycle.go StopVMRequestHandler passes dryRun to both its
    // patches (the instance's grace period and the VM's runStrategy): 202, nothing stored.
    const dry = await v.run('stop', 'tiny', '--dry-run');
    expect({ code: dry.code, stdout: dry.stdout, stderr: dry.stderr }).toEqual({
      code: 0,
      stdout: 'Dry Run execution\nVM tiny was scheduled to stop\n',
      stderr: '',
    });
    const force = await v.run('stop', 'tiny', '--force', '--grace-period=0', '--dry-run');
    expect({ code: force.code, stdout: force.stdout, stderr: force.stderr }).toEqual({
      code: 0,
      stdout: 'Dry Run execution\nVM tiny was scheduled to stop\n',
      stderr: '',
    });
    await sleep(3_000);
    expect(await snapshot()).toEqual(before);
    expect(alive(before.pid)).toBe(true);
  }, 300_000);

  it('stop answers at once and leaves the guest its grace period; stop --force --grace-period=0 then ends it at once', async () => {
    await booted();
    const pid = guest()?.child.pid;
    // lifecycle.go StopVMRequestHandler, runStrategy Always: runStrategy -> Halted, 202; the
    // instance then goes down gracefully (the guest ignores ACPI, so the whole grace period).
    const r = await v.run('stop', 'tiny');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'VM tiny was scheduled to stop\n',
      stderr: '',
    });
    expect(r.ms).toBeLessThan(5_000);
    expect((await get(VM()))?.spec.runStrategy).toBe('Halted');
    expect(alive(pid)).toBe(true);
    // Halted with an instance still there and a shorter grace period: the instance's
    // terminationGracePeriodSeconds is patched to 0 and a Stop request is added (lifecycle.go,
    // Halted case); virt-handler then stops the domain without waiting.
    const force = await v.run('stop', 'tiny', '--force', '--grace-period=0');
    expect({ code: force.code, stdout: force.stdout, stderr: force.stderr }).toEqual({
      code: 0,
      stdout: 'VM tiny was scheduled to stop\n',
      stderr: '',
    });
    const returned = Date.now();
    await until('the guest process gone', async () => !alive(pid), GRACE_S * 1000 + 10_000);
    expect(Date.now() - returned).toBeLessThan(5_000);
    await until('the instance gone', async () => !(await get(VMI())), 60_000);
    // Nothing left to stop: lifecycle.go, Halted without an instance -> 409 "VM is not running";
    // pkg/virtctl/vm/stop.go says "error stopping VirtualMachine <message>".
    const again = await v.run('stop', 'tiny');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'error stopping VirtualMachine Operation cannot be fulfilled on virtualmachine.kubevirt.io "tiny": VM is not running',
    );
  }, 300_000);

  it('`virtctl start tiny; virtctl console tiny` waits for the guest and shows its prompt', async () => {
    await halted();
    // The instance exists but is not Running yet: virt-api's console answers 400 "VMI is not
    // running" (pkg/virt-api/rest/console.go validateVMIForConsole) and virtctl tries again
    // every second until it runs (client-go kubecli/vmi.go SerialConsole).
    const r = await v.console(['sh', '-c', `"$0" start tiny && exec "$0" console tiny`, v.bin], {
      connected: CONNECTED,
      prompt: TINY_PROMPT,
      probe: 'echo started-$((5*5))',
      answer: 'started-25',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('VM tiny was scheduled to start\n');
    expect(r.stderr).toContain(CONNECTED);
  }, 420_000);

  it('restart --dry-run changes nothing', async () => {
    await booted();
    const before = await snapshot();
    // pkg/virtctl/vm/restart.go; lifecycle.go RestartVMRequestHandler: the Stop+Start requests
    // are patched with dryRun: 202, nothing stored.
    const r = await v.run('restart', 'tiny', '--dry-run');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'Dry Run execution\nVM tiny was scheduled to restart\n',
      stderr: '',
    });
    await sleep(3_000);
    expect(await snapshot()).toEqual(before);
    expect(alive(before.pid)).toBe(true);
  }, 300_000);

  it('restart answers at once, then a new instance and a new guest come up', async () => {
    await booted();
    const old = await snapshot();
    // lifecycle.go RestartVMRequestHandler only adds [Stop{uid}, Start] to
    // status.stateChangeRequests and answers 202: it never waits for the guest.
    const r = await v.run('restart', 'tiny');
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
      code: 0,
      stdout: 'VM tiny was scheduled to restart\n',
      stderr: '',
    });
    expect(r.ms).toBeLessThan(5_000);
    const next = await until(
      'a new instance Running with a new guest',
      async () => {
        const vmi = await get(VMI());
        const g = guest();
        return vmi?.status?.phase === 'Running' &&
          vmi.metadata.uid !== old.vmi?.uid &&
          g &&
          g.child.pid !== old.pid
          ? g
          : undefined;
      },
      GRACE_S * 1000 + 120_000,
    );
    expect(alive(old.pid)).toBe(false);
    await next.serial.waitFor(TINY_PROMPT, 180_000);
  }, 420_000);

  it('restart of a Halted VM is refused with virt-api’s words', async () => {
    await halted();
    // lifecycle.go RestartVMRequestHandler: Halted or Once -> 409 "RunStategy Halted does not
    // support manual restart requests" (sic); pkg/virtctl/vm/restart.go adds its prefix.
    const r = await v.run('restart', 'tiny');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error restarting VirtualMachine: Operation cannot be fulfilled on virtualmachine.kubevirt.io "tiny": RunStategy Halted does not support manual restart requests',
    );
  }, 300_000);

  it('an instance that is not Running yet: console waits (400, retried), vnc and pause are refused', async () => {
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'big', namespace: ns },
      spec: {
        runStrategy: 'Always',
        template: { spec: { domain: { devices: {}, memory: { guest: '1Gi' } } } },
      },
    } as never);
    try {
      // No room for it: the instance waits to be scheduled (pkg/virt-controller/watch/vmi).
      await until('the instance of big, Scheduling', async () => {
        const x = await get(VMI('big'));
        return x?.status?.phase === 'Scheduling' ? x : undefined;
      });
      // pkg/virt-api/rest/console.go validateVMIForConsole: not Running -> 400 "VMI is not
      // running", a Status written before the websocket upgrade (streamer.go Handle).
      const opts: Record<string, unknown> = {};
      await kc.applyToHTTPSOptions(opts as never);
      const wsUrl = `${(kc.getCurrentCluster()?.server ?? '').replace(/^http/, 'ws')}${SUB('big')}/console`;
      const refused = await new Promise<{ code: number; body: string }>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, ['plain.kubevirt.io'], opts as WebSocket.ClientOptions);
        ws.once('open', () => {
          ws.close();
          reject(new Error('the console of a Pending instance opened'));
        });
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (b: Buffer) => (body += b.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        });
        ws.once('error', reject);
      });
      expect.soft(refused.code).toBe(400);
      expect.soft(JSON.parse(refused.body)).toMatchObject({
        kind: 'Status',
        code: 400,
        reason: 'BadRequest',
        message: 'VMI is not running',
      });
      // client-go kubecli/vmi.go SerialConsole: a 400 is tried again each second for --timeout
      // minutes; virtctl is still waiting, silently, after 6 s.
      const child = v.spawn(['console', 'big']);
      let out = '';
      child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
      await sleep(6_000);
      const stillWaiting = child.exitCode === null;
      child.kill('SIGKILL');
      expect.soft({ stillWaiting, out }).toEqual({ stillWaiting: true, out: '' });
      // pkg/virt-api/rest/vnc.go vmiHasDisplay: 400 "VMI is not running"; virtctl vnc does not
      // retry (pkg/virtctl/vnc/vnc.go: "can't access VMI <name>: <message>").
      const vnc = await v.run('vnc', 'big', '--proxy-only');
      expect.soft(vnc.code).toBe(1);
      expect.soft(vnc.stderr).toContain("can't access VMI big: VMI is not running");
      // lifecycle.go PauseVMIRequestHandler: phase not Running -> 409 "VM is not running".
      const pause = await v.run('pause', 'vmi', 'big');
      expect(pause.code).toBe(1);
      expect(pause.stderr).toContain(
        'Error pausing VirtualMachineInstance big: Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "big": VM is not running',
      );
    } finally {
      await rest.request('DELETE', VM('big')).catch(() => undefined);
    }
  }, 300_000);
});
