// From a kubevirt.io/v1 VirtualMachine to QEMU's command line, property-tested: 1,000 generated
// VMs, hostile values included (MACs with commas, '=' and romfile=, odd and huge memory, vCPU
// counts from 0 to 2^32, names with commas), each either refused by KubeVirt's own admission
// (virt-api's VM admitter, v1.7.0) with its cause recorded, or taken the way the local engine
// takes it (the template as the instance spec, KubeVirt's default card, macFor, planDisks, the
// memory and vCPUs virt-handler computes) through guestCommand and qemuArgs. The line is read back
// as QEMU reads it (parseQemuArgs) and must hold exactly what the VM asked for: every option, every
// key, nothing more; or the engine refuses the value with a QemuSpecError naming the field and the
// value. A sample of the lines built then really boots the tiny Linux.
import fc from 'fast-check';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk } from '../../engine/src/disks.ts';
import type { KvVm, KvVmi, VmiSpec } from '../../engine/src/engine-context.ts';
import {
  guestCommand,
  instanceResources,
  readOnlyDisk,
  type GuestCommandInput,
} from '../../engine/src/guest-command.ts';
import { tinyLinuxLibrary } from '../../engine/src/main.ts';
import {
  diskNames,
  parseQemuArgs,
  powerOff,
  QEMU_LIMITS,
  qemuArgs,
  QemuSpecError,
  startQemu,
  type ParsedOption,
  type Qmp,
  type Serial,
} from '../../engine/src/qemu.ts';
import { ensureTinyLinux, TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { macFor, planDisks, type DiskFile } from '../../engine/src/volumes.ts';
import type { EngineChecks } from '../../harness/src/controlplane/conformance.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { kubevirtVmArb } from '../support/kubevirt-vm-arbitrary.ts';
import { engineChecks } from '../support/kubevirt.ts';

const RUNS = 1000;
const SEED = 20250707;
const MiB = 2 ** 20;

// ---------------------------------------------------------------------------------------------
// The engine's way from a VM to the builder's input (virt-controller's createInstance, then
// virt-handler's startGuest: planDisks, memoryFor, roomFor, the card's MAC).

/** The instance spec virt-controller makes from the VM: its template, KubeVirt's default card. */
function instanceSpec(vm: KvVm): VmiSpec {
  const spec: VmiSpec = { ...(vm.spec.template?.spec ?? { domain: { devices: {} } }) };
  if (!spec.networks?.length && !spec.domain?.devices?.interfaces?.length) {
    spec.networks = [{ name: 'default', pod: {} }];
    spec.domain = {
      ...spec.domain,
      devices: { ...spec.domain?.devices, interfaces: [{ name: 'default', bridge: {} }] },
    };
  }
  return spec;
}

type EngineInput =
  | { ok: true; input: GuestCommandInput; disks: (DiskFile & { path: string })[] }
  | { ok: false; waits: string };

/** Where a disk's file would be: fake, under the run's folder (qemuArgs opens nothing). */
const diskFile = (root: string, d: DiskFile): string =>
  join(root, 'disks', d.kind === 'claim' ? 'claims,x=y' : 'dvs,x=y', `${d.uid}.qcow2`);

function engineInput(
  vm: KvVm & { metadata: { uid: string } },
  root: string,
  n: number,
): EngineInput {
  const vmi: KvVmi = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: vm.metadata.name, namespace: 'prop', uid: vm.metadata.uid },
    spec: instanceSpec(vm),
  };
  const plan = planDisks(vmi.spec.volumes ?? [], (r) => ({
    uid: `${r.kind}-${r.name}`,
    sizeBytes: 0,
  }));
  if (!plan.ok) return { ok: false, waits: 'a claim no object can be (Pending)' };
  // What the engine reads of the instance: its own function (engine/src/guest-command.ts).
  const asked = instanceResources(vmi);
  if (!asked.ok) return { ok: false, waits: `${asked.message} (Scheduling)` };
  const card = vmi.spec.domain?.devices?.interfaces?.[0];
  const dir = join(root, 'run', `i${n}`);
  // Read-only as the engine reads it: the claim, or the domain's disk (readonly, a cdrom).
  const disks = plan.disks.map((d) => ({
    ...d,
    readOnly: readOnlyDisk(vmi, d),
    path: diskFile(root, d),
  }));
  return {
    ok: true,
    disks,
    input: {
      dir,
      vmi,
      memoryBytes: asked.memoryBytes,
      cpus: asked.cpus,
      disks,
      mac: asked.mac ?? macFor(vm.metadata.uid),
      ...(card ? { dumpFile: join(dir, 'net0.pcap') } : {}),
      limits: { maxCpus: QEMU_LIMITS.maxCpus },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What the line must hold, computed from the VM (not from the builder).

const socket = (id: string, path: string): ParsedOption => ({
  name: '-chardev',
  props: { backend: 'socket', id, path, server: 'on', wait: 'off' },
});

/** Every option of the line, read back, with exactly these keys and values. */
function expectedOptions(vm: KvVm, e: Extract<EngineInput, { ok: true }>): ParsedOption[] {
  const { dir, memoryBytes, cpus, disks } = e.input;
  const spec = instanceSpec(vm);
  const card = spec.domain?.devices?.interfaces?.[0];
  const mac = card?.macAddress || macFor((vm.metadata as { uid: string }).uid);
  return [
    { name: '-nodefaults' },
    { name: '-no-user-config' },
    {
      name: '-sandbox',
      props: {
        enable: 'on',
        obsolete: 'deny',
        elevateprivileges: 'deny',
        spawn: 'deny',
        resourcecontrol: 'deny',
      },
    },
    { name: '-machine', props: { type: 'q35', accel: 'tcg' } },
    // Whole MiB, at least 16 (the engine's floor for a guest that asks less).
    { name: '-m', props: { size: `${Math.max(16, Math.floor(memoryBytes / MiB))}M` } },
    { name: '-smp', props: { cpus: String(cpus) } },
    { name: '-display', props: { type: 'none' } },
    socket('serial0', join(dir, 'serial.sock')),
    { name: '-serial', value: 'chardev:serial0' },
    socket('qmp0', join(dir, 'qmp.sock')),
    { name: '-mon', props: { chardev: 'qmp0', mode: 'control' } },
    { name: '-vga', value: 'std' },
    { name: '-vnc', props: { vnc: `unix:${join(dir, 'vnc.sock')}` } },
    // KubeVirt's guest agent channel, on every guest.
    socket('agent0', join(dir, 'ga.sock')),
    { name: '-device', props: { driver: 'virtio-serial-pci', id: 'virtio-serial0' } },
    {
      name: '-device',
      props: {
        driver: 'virtserialport',
        bus: 'virtio-serial0.0',
        chardev: 'agent0',
        name: 'org.qemu.guest_agent.0',
        id: 'channel0',
      },
    },
    ...(card
      ? [
          {
            name: '-netdev',
            props: { type: 'user', id: 'net0', restrict: 'on', net: '10.0.2.0/24' },
          },
          {
            name: '-device',
            props: {
              driver: 'virtio-net-pci',
              netdev: 'net0',
              mac,
              ...(card.bootOrder ? {} : { romfile: '' }),
            },
          },
          {
            name: '-object',
            props: {
              'qom-type': 'filter-dump',
              id: 'net0dump',
              netdev: 'net0',
              file: join(dir, 'net0.pcap'),
            },
          },
        ]
      : []),
    ...(spec.startStrategy === 'Paused' ? [{ name: '-S' }] : []),
    ...disks.flatMap((d, i): ParsedOption[] => {
      const n = diskNames({ name: d.volume }, i);
      const ro = d.readOnly === true ? 'on' : 'off';
      const cache = { 'cache.direct': 'off', 'cache.no-flush': 'off' };
      return [
        {
          name: '-blockdev',
          props: {
            driver: 'file',
            'node-name': n.fileNode,
            filename: d.path,
            aio: 'threads',
            ...cache,
            'read-only': ro,
          },
        },
        {
          name: '-blockdev',
          props: {
            driver: 'qcow2',
            'node-name': n.formatNode,
            file: n.fileNode,
            ...cache,
            'read-only': ro,
            ...(ro === 'off' ? { discard: 'unmap' } : {}),
          },
        },
        {
          name: '-device',
          props: { driver: 'virtio-blk-pci', drive: n.formatNode, id: `ua-${d.volume}` },
        },
      ];
    }),
  ];
}

/** The checks named one by one (the whole-line comparison covers them too; these say which). */
function checkLine(vm: KvVm, e: Extract<EngineInput, { ok: true }>, args: string[]): void {
  const parsed = parseQemuArgs(args);
  const spec = instanceSpec(vm);
  const card = spec.domain?.devices?.interfaces?.[0];
  const of = (name: string): ParsedOption[] => parsed.filter((o) => o.name === name);
  // The card: the VM's MAC (lower-cased as KubeVirt compares it), its only card.
  const nics = of('-device').filter((o) => o.props?.driver === 'virtio-net-pci');
  expect(nics).toHaveLength(card ? 1 : 0);
  if (card) {
    const wanted = card.macAddress || macFor((vm.metadata as { uid: string }).uid);
    expect(nics[0]?.props?.mac?.toLowerCase()).toBe(wanted.toLowerCase());
    expect(nics[0]?.props?.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i);
  }
  // Memory and vCPUs.
  const mib = Math.max(16, Math.floor(e.input.memoryBytes / MiB));
  expect(of('-m')).toEqual([{ name: '-m', props: { size: `${mib}M` } }]);
  expect(of('-smp')).toEqual([{ name: '-smp', props: { cpus: String(e.input.cpus) } }]);
  // Each disk: its file, read-only as the claim says, its device named after its volume.
  const files = of('-blockdev').filter((o) => o.props?.driver === 'file');
  const blk = of('-device').filter((o) => o.props?.driver === 'virtio-blk-pci');
  expect(files.map((o) => [o.props?.filename, o.props?.['read-only']])).toEqual(
    e.disks.map((d) => [d.path, d.readOnly ? 'on' : 'off']),
  );
  expect(blk.map((o) => o.props?.id)).toEqual(e.disks.map((d) => `ua-${d.volume}`));
  // Node names: within QEMU's 31 characters, each once, each device on its own format node.
  const nodes = of('-blockdev').map((o) => o.props?.['node-name'] ?? '');
  expect(new Set(nodes).size).toBe(nodes.length);
  for (const node of nodes) expect(node.length).toBeLessThanOrEqual(31);
  // Exactly the expected keys in every -device, -blockdev, -netdev and -chardev, and the whole
  // line as computed from the VM: nothing injected, nothing missing.
  const expected = expectedOptions(vm, e);
  for (const name of ['-device', '-blockdev', '-netdev', '-chardev', '-object'])
    expect(
      of(name).map((o) => Object.keys(o.props ?? {}).sort()),
      `the keys of every ${name}`,
    ).toEqual(
      expected.filter((o) => o.name === name).map((o) => Object.keys(o.props ?? {}).sort()),
    );
  expect(parsed).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------

let checks: EngineChecks;
let root = '';

beforeAll(async () => {
  checks = await engineChecks();
  // Named for the run (the runner's leak check sees it if it outlives the test); a comma and an
  // '=' in every path, which the line must keep as part of the value.
  root = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-prop,x=y-`),
  );
}, 300_000);

afterAll(async () => {
  await checks?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

interface Built {
  vm: KvVm & { metadata: { uid: string } };
  input: GuestCommandInput;
  disks: (DiskFile & { path: string })[];
}

const built: Built[] = [];

/** "field: message" with the values taken out, so causes of a kind count together. */
function causeKind(c: { field?: string; message: string }): string {
  const field = (c.field ?? '(decoding)').replace(/\[\d+\]/g, '[*]');
  const message = c.message
    .replace(/\(.*\)/g, '(…)')
    .replace(/'[^']*'/g, '…')
    .replace(/Go struct field \S+/, 'Go struct field')
    .replace(/number \S+/, 'number')
    .slice(0, 90);
  return `${field}: ${message}`;
}

describe("from a KubeVirt VM to QEMU's command line", () => {
  it(`${RUNS} generated VMs: refused by KubeVirt, refused by the engine naming the field, or a line that reads back to exactly the VM`, async () => {
    const counts = {
      admitted: 0,
      refusedByKubeVirt: 0,
      refusedByEngine: 0,
      engineWaits: 0,
      built: 0,
    };
    const kubevirtCauses = new Map<string, number>();
    const engineFields = new Map<string, number>();
    const waits = new Map<string, number>();
    const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
    let n = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(kubevirtVmArb, async (vm) => {
        const i = n++;
        const verdict = await checks.virtualMachine(vm);
        expect(verdict.error, 'the admitter could check the VM').toBeUndefined();
        if (!verdict.allowed) {
          // A refusal says why.
          expect(verdict.causes.length).toBeGreaterThan(0);
          counts.refusedByKubeVirt++;
          for (const c of verdict.causes) bump(kubevirtCauses, causeKind(c));
          return;
        }
        counts.admitted++;
        const e = engineInput(vm, root, i);
        if (!e.ok) {
          counts.engineWaits++;
          bump(waits, e.waits);
          return;
        }
        let args: string[];
        try {
          args = qemuArgs(guestCommand(e.input));
        } catch (err) {
          // Anything else than a QemuSpecError is a failure of the property.
          if (!(err instanceof QemuSpecError)) throw err;
          expect(err.field).toMatch(/^(cpus|memoryMiB|nic\.mac|disks\[\d+\]\.(name|path))$/);
          // The error names the value it refuses, which is the VM's.
          const spec = instanceSpec(vm);
          const wanted: Record<string, unknown> = {
            cpus: e.input.cpus,
            memoryMiB: Math.max(16, Math.floor(e.input.memoryBytes / MiB)),
            'nic.mac': e.input.mac,
          };
          const disk = /^disks\[(\d+)\]\.name$/.exec(err.field);
          if (disk) expect(err.value).toBe(e.disks[Number(disk[1])]?.volume);
          else expect(err.value).toBe(wanted[err.field]);
          expect(err.message).toContain(
            typeof err.value === 'string' ? JSON.stringify(err.value) : String(err.value),
          );
          if (err.field === 'nic.mac')
            expect(err.value).toBe(spec.domain?.devices?.interfaces?.[0]?.macAddress);
          counts.refusedByEngine++;
          bump(engineFields, err.field.replace(/\[\d+\]/, '[*]'));
          return;
        }
        checkLine(vm, e, args);
        counts.built++;
        built.push({ vm, input: e.input, disks: e.disks });
      }),
      { numRuns: RUNS, seed: SEED },
    );
    const ms = Date.now() - started;
    const top = (m: Map<string, number>, k = 8): string =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([c, v]) => `    ${v} × ${c}`)
        .join('\n');
    console.log(
      [
        `${RUNS} VMs (seed ${SEED}) in ${ms} ms (${(ms / RUNS).toFixed(2)} ms each, KubeVirt's admitter included)`,
        `  refused by KubeVirt: ${counts.refusedByKubeVirt}; top causes:`,
        top(kubevirtCauses),
        `  admitted by KubeVirt: ${counts.admitted}`,
        `    line built and read back exactly: ${counts.built}`,
        `    refused by the engine (QemuSpecError): ${counts.refusedByEngine}`,
        top(engineFields),
        `    the engine waits (never starts QEMU): ${counts.engineWaits}`,
        top(waits),
      ].join('\n'),
    );
    expect(counts.refusedByKubeVirt + counts.admitted).toBe(RUNS);
    // The generator reaches every outcome.
    expect(counts.refusedByKubeVirt).toBeGreaterThan(50);
    expect(counts.built).toBeGreaterThan(50);
    expect(counts.refusedByEngine).toBeGreaterThan(10);
  }, 120_000);

  describe('a sample of the lines built really boots', () => {
    let vm: { child: ChildProcess; qmp: Qmp; serial: Serial } | undefined;
    let folder = '';

    const cleanUp = async (): Promise<void> => {
      if (vm) {
        if (vm.child.exitCode === null && vm.child.signalCode === null) await powerOff(vm, 0);
        vm.qmp.close();
        vm.serial.close();
        vm = undefined;
      }
      if (folder) rmSync(folder, { recursive: true, force: true });
      folder = '';
    };
    afterAll(cleanUp);

    it('2 admitted VMs, each with its disks, boot the tiny Linux to its shell', async () => {
      execFileSync('qemu-system-x86_64', ['--version']);
      const image = await ensureTinyLinux(cacheRoot(), (l) => console.log(l));
      // Small enough for TCG, with a disk to boot the tiny Linux's kernel from (as a disk made
      // from the library image does), one with a read-only disk when there is such a VM.
      const fits = built.filter(
        (b) =>
          b.disks.length > 0 &&
          b.input.cpus <= 2 &&
          b.input.memoryBytes >= 128 * MiB &&
          b.input.memoryBytes <= 1024 * MiB &&
          b.input.vmi.spec.startStrategy !== 'Paused',
      );
      const withRo = fits.find((b) => b.disks.some((d) => d.readOnly));
      const sample = [...(withRo ? [withRo] : []), ...fits.filter((b) => b !== withRo)].slice(0, 2);
      expect(sample).toHaveLength(2);
      for (const b of sample) {
        folder = mkdtempSync(
          join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-boot,x=y-`),
        );
        const library = tinyLinuxLibrary(image);
        const disks = b.disks.map((d, i) => ({
          ...d,
          path: join(folder, `disk${i},file.locking=off.qcow2`),
          // The first disk boots: as if its DataVolume were made from the tiny Linux.
          ...(i === 0 ? { image: library } : {}),
        }));
        for (const d of disks) await createDisk({ path: d.path, sizeBytes: 16 * MiB });
        const { dumpFile: _recorded, ...input } = b.input;
        const spec = guestCommand({ ...input, dir: join(folder, 'vm'), disks });
        const started = Date.now();
        vm = await startQemu(spec);
        await vm.serial.waitFor(TINY_PROMPT, 180_000);
        const from = vm.serial.output.length;
        vm.serial.type('ls /dev/vd*; grep -c ^processor /proc/cpuinfo; echo done-$((6*7))\n');
        const out = await vm.serial.waitFor('done-42', 30_000, from);
        const letters = 'abcdefgh';
        for (let i = 0; i < disks.length; i++) expect(out).toContain(`/dev/vd${letters[i]}`);
        expect(out).toMatch(new RegExp(`^${b.input.cpus}\\r?$`, 'm'));
        console.log(
          `booted ${b.vm.metadata.name}: ${spec.memoryMiB} MiB, ${spec.cpus} vCPU(s), ${disks.length} disk(s)${disks.some((d) => d.readOnly) ? ' (one read-only)' : ''}, shell in ${Date.now() - started} ms`,
        );
        expect(await powerOff(vm, 0)).toBe('hard');
        await cleanUp();
      }
    }, 420_000);
  });
});

/** A VM KubeVirt admits, with one thing changed in its template spec. */
function admittedVm(change: (spec: VmiSpec) => void): KvVm & { metadata: { uid: string } } {
  const spec: VmiSpec = {
    domain: {
      resources: { requests: { memory: '128Mi' } },
      devices: {
        interfaces: [{ name: 'default', masquerade: {} }],
        disks: [{ name: 'root' }],
      },
    },
    networks: [{ name: 'default', pod: {} }],
    volumes: [{ name: 'root', persistentVolumeClaim: { claimName: 'root' } }],
  };
  change(spec);
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name: 'divergent', namespace: 'prop', uid: '3f0c5d43-4a52-4c1b-9b1e-0d1c1f2a3b4c' },
    spec: { runStrategy: 'Always', template: { spec } },
  };
}

/** The VM's line, built the engine's way (throws what the engine throws). */
function lineOf(vm: KvVm & { metadata: { uid: string } }): ParsedOption[] {
  const e = engineInput(vm, root, 0);
  if (!e.ok) throw new Error(e.waits);
  return parseQemuArgs(qemuArgs(guestCommand(e.input)));
}

// What KubeVirt v1.7.0 admits and runs, and the engine does not follow: each VM is admitted by the
// real admitter (checked here); each was a known divergence (it.fails) until the engine followed.
describe('what KubeVirt admits and the engine once read otherwise', () => {
  const cases: Record<string, (spec: VmiSpec) => void> = {
    'memory .5Gi': (s) => void (s.domain!.resources = { requests: { memory: '.5Gi' } }),
    'a disk asked read-only': (s) =>
      void (s.domain!.devices!.disks = [
        { name: 'root', disk: { readonly: true } } as { name: string },
      ]),
    'an empty macAddress': (s) => void (s.domain!.devices!.interfaces![0]!.macAddress = ''),
    'cores: 0': (s) => void (s.domain!.cpu = { cores: 0 }),
  };

  it('KubeVirt admits each of these VMs', async () => {
    for (const [what, change] of Object.entries(cases))
      expect({ what, verdict: await checks.virtualMachine(admittedVm(change)) }).toEqual({
        what,
        verdict: { allowed: true, causes: [] },
      });
  });

  it('memory .5Gi (which Go reads as 512Mi) is 512 MiB on the line', () => {
    const line = lineOf(admittedVm(cases['memory .5Gi']!));
    expect(line.find((o) => o.name === '-m')?.props).toEqual({ size: '512M' });
  });

  it('a disk whose domain disk says readonly: true is read-only on the line', () => {
    const line = lineOf(admittedVm(cases['a disk asked read-only']!));
    const file = line.find((o) => o.name === '-blockdev' && o.props?.driver === 'file');
    expect(file?.props?.['read-only']).toBe('on');
  });

  it('an empty macAddress is no MAC: the card gets one made for it (macFor)', () => {
    const line = lineOf(admittedVm(cases['an empty macAddress']!));
    const card = line.find((o) => o.props?.driver === 'virtio-net-pci');
    expect(card?.props?.mac).toBe(macFor('3f0c5d43-4a52-4c1b-9b1e-0d1c1f2a3b4c'));
  });

  it('cores: 0 is the default (1 vCPU), as KubeVirt reads an unset uint32', () => {
    const line = lineOf(admittedVm(cases['cores: 0']!));
    expect(line.find((o) => o.name === '-smp')?.props).toEqual({ cpus: '1' });
  });
});
