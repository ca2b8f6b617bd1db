// The local engine against a real API server with KubeVirt's real CRDs: a kubevirt.io/v1
// VirtualMachine with runStrategy Always gets an instance and a real guest under QEMU, whose
// serial console answers; Halted stops it (process gone, instance deleted, VM Stopped); deleting
// the VM leaves no process and no folder behind.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { localEngine, type LocalEngine } from '../../engine/src/controller.ts';
import { ensureTinyLinux, TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { Manager } from '../../kube/src/manager.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { installEngineCrds } from '../support/kubevirt.ts';

let ns = '';
let rest: KubeRest;
let manager: Manager;
let engine: LocalEngine;
let stateDir = '';
/** What the machine can give VMs, as the engine is told (os.freemem in the sandbox). */
let available = 8 * 2 ** 30;

type Obj = {
  metadata: { uid?: string };
  spec: Record<string, unknown>;
  status?: Record<string, any>;
};
const vmPath = (): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/tiny`;
const vmiPath = (): string => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/tiny`;
const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T> =>
  waitUntil(what, probe as () => Promise<T | undefined>, 90_000, 200);

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  ns = await createNamespace('engine');
  stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-engine-`),
  );
  const image = await ensureTinyLinux(cacheRoot(), () => undefined);
  manager = new Manager({
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  engine = localEngine(manager, {
    stateDir,
    image,
    memoryCapBytes: 256 * 2 ** 20,
    availableBytes: () => available,
    maxGraceMs: 1_000,
    unschedulableRetryMs: 500,
  });
  manager.add(engine.definition);
  await manager.start();
}, 300_000);

afterAll(async () => {
  await manager?.stop();
  await engine?.stopAll();
  rest?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('the local engine', () => {
  it('runs a VM with runStrategy Always: an instance Running on this node, and a real guest on the console', async () => {
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'tiny', namespace: ns },
      spec: {
        runStrategy: 'Always',
        template: {
          metadata: { labels: { 'vmplane.io/vm': 'tiny' } },
          spec: { domain: { devices: {}, memory: { guest: '4Gi' } } },
        },
      },
    } as never);
    const vmi = await until('the instance Running', async () => {
      const x = await get(vmiPath());
      return x?.status?.phase === 'Running' ? x : undefined;
    });
    expect(vmi.status?.nodeName).toBeTruthy();
    expect(vmi.metadata).toMatchObject({
      ownerReferences: [{ kind: 'VirtualMachine', name: 'tiny' }],
    });
    const vm = await until('the VM Running', async () => {
      const x = await get(vmPath());
      return x?.status?.printableStatus === 'Running' ? x : undefined;
    });
    expect(vm.status).toMatchObject({ ready: true, created: true });
    const guest = engine.running.get(`${ns}/tiny`);
    if (!guest) throw new Error('no QEMU process for the VM');
    await guest.serial.waitFor(TINY_PROMPT, 90_000);
    const from = guest.serial.output.length;
    guest.serial.type('echo engine-$((20+22))\n');
    await guest.serial.waitFor('engine-42', 30_000, from);
  }, 180_000);

  it('stops it with runStrategy Halted: the process goes, the instance is deleted, the VM says Stopped', async () => {
    const pid = engine.running.get(`${ns}/tiny`)?.child.pid;
    await rest.request('PATCH', vmPath(), {
      body: { spec: { runStrategy: 'Halted' } },
      contentType: 'application/merge-patch+json',
    });
    await until('the instance gone', async () => !(await get(vmiPath())));
    await until(
      'the VM Stopped',
      async () => (await get(vmPath()))?.status?.printableStatus === 'Stopped',
    );
    expect(engine.running.has(`${ns}/tiny`)).toBe(false);
    expect(pid).toBeDefined();
    expect(existsSync(`/proc/${pid}/cmdline`)).toBe(false);
  }, 120_000);

  it('starts it again, and deleting the VM leaves no process and no folder', async () => {
    await rest.request('PATCH', vmPath(), {
      body: { spec: { runStrategy: 'Always' } },
      contentType: 'application/merge-patch+json',
    });
    await until(
      'Running again',
      async () => (await get(vmPath()))?.status?.printableStatus === 'Running',
    );
    const pid = engine.running.get(`${ns}/tiny`)?.child.pid;
    expect(pid).toBeDefined();
    await rest.request('DELETE', vmPath());
    await until('the instance gone', async () => !(await get(vmiPath())));
    await until('the process gone', async () => !engine.running.has(`${ns}/tiny`));
    expect(existsSync(`/proc/${pid}/cmdline`)).toBe(false);
    expect(existsSync(join(stateDir, 'vms', ns, 'tiny'))).toBe(false);
  }, 120_000);

  it('keeps a VM the machine has no memory for Pending, says why, and runs it once memory is there', async () => {
    available = 64 * 2 ** 20;
    const path = `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/big`;
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'big', namespace: ns },
      spec: {
        runStrategy: 'Always',
        template: { spec: { domain: { devices: {}, memory: { guest: '1Gi' } } } },
      },
    } as never);
    const vm = await until('the VM ErrorUnschedulable', async () => {
      const x = await get(path);
      return x?.status?.printableStatus === 'ErrorUnschedulable' ? x : undefined;
    });
    expect(vm.status?.ready).toBe(false);
    const vmi = await get(`/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/big`);
    expect(vmi?.status?.phase).toBe('Pending');
    expect(vmi?.status?.conditions).toContainEqual(
      expect.objectContaining({
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: expect.stringContaining(
          'the VM needs 256 MiB of guest memory (its 1024 MiB, capped) and this machine has 64 MiB available',
        ),
      }),
    );
    expect(engine.running.has(`${ns}/big`)).toBe(false);
    available = 8 * 2 ** 30;
    await until(
      'Running once memory is there',
      async () => (await get(path))?.status?.printableStatus === 'Running',
    );
    expect(engine.running.has(`${ns}/big`)).toBe(true);
    await rest.request('DELETE', path);
    await until('the process gone', async () => !engine.running.has(`${ns}/big`));
  }, 120_000);
});
