// The local engine against a real API server with KubeVirt's real CRDs: a kubevirt.io/v1
// VirtualMachine with runStrategy Always gets an instance and a real guest under QEMU, whose
// serial console answers; Halted stops it (process gone, instance deleted, VM Stopped); deleting
// the VM leaves no process and no folder behind.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import {
  kubevirtVm,
  machine,
  startTestEngine,
  tinyDataVolume,
  type TestEngine,
} from '../support/engine.ts';

let t: TestEngine;
let ns = '';
const vmPath = (): string => t.vmPath('tiny');
const vmiPath = (): string => t.vmiPath('tiny');
const get: TestEngine['get'] = (path) => t.get(path);
const until: TestEngine['until'] = (what, probe) => t.until(what, probe);

beforeAll(async () => {
  t = await startTestEngine('engine');
  ns = t.ns;
}, 300_000);

afterAll(async () => {
  await t?.stop();
});

describe('the local engine', () => {
  it('runs a VM with runStrategy Always: an instance Running on this node, and a real guest on the console', async () => {
    await t.rest.create(
      kubevirtVm(
        ns,
        'tiny',
        { dataVolumeTemplates: [tinyDataVolume('tiny-root', t.storageClass)] },
        { volumes: [{ name: 'root', dataVolume: { name: 'tiny-root' } }] },
        {
          memory: { guest: '4Gi' },
          devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] },
        },
      ) as never,
    );
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
    const guest = t.engine.running.get(`${ns}/tiny`);
    if (!guest) throw new Error('no QEMU process for the VM');
    await guest.serial.waitFor(TINY_PROMPT, 90_000);
    const from = guest.serial.output.length;
    guest.serial.type('echo engine-$((20+22))\n');
    await guest.serial.waitFor('engine-42', 30_000, from);
  }, 180_000);

  it('stops it with runStrategy Halted: the process goes, the instance is deleted, the VM says Stopped', async () => {
    const pid = t.engine.running.get(`${ns}/tiny`)?.child.pid;
    await t.rest.request('PATCH', vmPath(), {
      body: { spec: { runStrategy: 'Halted' } },
      contentType: 'application/merge-patch+json',
    });
    await until('the instance gone', async () => !(await get(vmiPath())));
    await until(
      'the VM Stopped',
      async () => (await get(vmPath()))?.status?.printableStatus === 'Stopped',
    );
    expect(t.engine.running.has(`${ns}/tiny`)).toBe(false);
    expect(pid).toBeDefined();
    expect(existsSync(`/proc/${pid}/cmdline`)).toBe(false);
  }, 120_000);

  it('starts it again, and deleting the VM leaves no process and no folder', async () => {
    await t.rest.request('PATCH', vmPath(), {
      body: { spec: { runStrategy: 'Always' } },
      contentType: 'application/merge-patch+json',
    });
    await until(
      'Running again',
      async () => (await get(vmPath()))?.status?.printableStatus === 'Running',
    );
    const pid = t.engine.running.get(`${ns}/tiny`)?.child.pid;
    expect(pid).toBeDefined();
    await t.rest.request('DELETE', vmPath());
    await until('the instance gone', async () => !(await get(vmiPath())));
    await until('the process gone', async () => !t.engine.running.has(`${ns}/tiny`));
    expect(existsSync(`/proc/${pid}/cmdline`)).toBe(false);
    expect(readdirSync(join(t.stateDir, 'nodes', '0'))).toEqual([]);
    // Its DataVolume went with it (garbage collected), then the claim, the volume and its file.
    await until('the DataVolume’s volume and file gone', async () =>
      readdirSync(join(t.stateDir, 'volumes')).length === 0 ? true : undefined,
    );
  }, 120_000);

  it('keeps a VM the engine has no memory for unscheduled, says why, and runs it once memory is there', async () => {
    machine.availableBytes = 64 * 2 ** 20;
    const path = `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/big`;
    await t.rest.create({
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
    // KubeVirt leaves ready out when it is false (omitempty).
    expect(vm.status?.ready).toBeUndefined();
    const vmi = await get(`/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/big`);
    // No node has room: the instance waits to be scheduled (pkg/virt-controller/watch/vmi).
    expect(vmi?.status?.phase).toBe('Scheduling');
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
    expect(t.engine.running.has(`${ns}/big`)).toBe(false);
    machine.availableBytes = 8 * 2 ** 30;
    await until(
      'Running once memory is there',
      async () => (await get(path))?.status?.printableStatus === 'Running',
    );
    expect(t.engine.running.has(`${ns}/big`)).toBe(true);
    await t.rest.request('DELETE', path);
    await until('the process gone', async () => !t.engine.running.has(`${ns}/big`));
  }, 120_000);
});
