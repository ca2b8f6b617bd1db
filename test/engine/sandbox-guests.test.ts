// Real disks and a real Debian guest in the sandbox, as `npm start` runs them (its own control
// plane with kube-controller-manager, vmplane's webhooks and controllers, the local engine playing
// KubeVirt, CDI and a storage provisioner, QEMU under TCG). The example debian-1 boots the Debian
// image imported over loopback HTTP; its cloud-init runs and its guest agent reports Debian. Every
// example disk is Bound with its bytes where the volume says; a disk cloned from another carries
// the marker a guest wrote; a grown disk is bigger in the guest; deleting a disk, or a whole
// namespace, leaves no claim, volume or file behind. Debian boots once, for the whole file; the
// disk cases use the tiny Linux.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { compareQuantities } from '../../api/src/quantity.ts';
import { startSandbox, type Sandbox } from '../../harness/src/sandbox.ts';
import type { LocalEngine } from '../../engine/src/controller.ts';
import { volumeFile } from '../../engine/src/storage/volume-file.ts';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { ask, openConsole, type Console } from '../support/sandbox-console.ts';
import { Virtctl } from '../support/virtctl.ts';
import { ensureVirtctl } from '../../harness/src/controlplane/virtctl.ts';

const run = promisify(execFile);
const VMP = (ns: string): string => `/apis/vmplane.io/v1alpha1/namespaces/${ns}`;
const CORE = (ns: string): string => `/api/v1/namespaces/${ns}`;

let stateDir = '';
let sandbox: Sandbox;
let kc: KubeConfig;
let rest: KubeRest;
let engine: LocalEngine;
let debianConsole: Console | undefined;
const logged: string[] = [];

type Obj = {
  metadata: { name: string; namespace?: string; uid?: string };
  spec?: Record<string, any>;
  status?: Record<string, any>;
};
const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
const list = async (path: string): Promise<Obj[]> =>
  (await rest.request<{ items: Obj[] }>('GET', path)).body.items;
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 300_000) =>
  waitUntil(what, probe as () => Promise<T | undefined>, ms, 500);
const vmStatus = async (ns: string, name: string): Promise<Record<string, any> | undefined> =>
  (await get(`${VMP(ns)}/virtualmachines/${name}`))?.status;
const untilPrintable = (ns: string, name: string, printable: string) =>
  until(`VM ${ns}/${name} ${printable}`, async () => {
    const s = await vmStatus(ns, name);
    return s?.printableStatus === printable ? s : undefined;
  });
const setPower = (ns: string, name: string, powerState: string): Promise<unknown> =>
  rest.request('PATCH', `${VMP(ns)}/virtualmachines/${name}`, {
    body: { spec: { powerState } },
    contentType: 'application/merge-patch+json',
  });
const tinyAsk = (ns: string, name: string, command: string, answer: string): Promise<string> =>
  ask(kc, { ns, name, prompt: TINY_PROMPT }, command, answer, () =>
    String(engine.running.get(`${ns}/${name}`)?.serial.output ?? '(no guest)'),
  );

const diskReady = (ns: string, name: string): Promise<Obj> =>
  until(`disk ${ns}/${name} Ready`, async () => {
    const d = await get(`${VMP(ns)}/virtualmachinedisks/${name}`);
    return d?.status?.phase === 'Ready' ? d : undefined;
  });

/** The file behind a claim, from the PersistentVolume it is bound to. */
async function claimFile(ns: string, claim: string): Promise<string> {
  const pvc = await until(`claim ${ns}/${claim} Bound`, async () => {
    const c = await get(`${CORE(ns)}/persistentvolumeclaims/${claim}`);
    return c?.status?.phase === 'Bound' ? c : undefined;
  });
  const pv = await get(`/api/v1/persistentvolumes/${pvc.spec?.volumeName}`);
  const file = pv && volumeFile(pv as never);
  if (!file) throw new Error(`no file for the volume of ${ns}/${claim}`);
  return file;
}

/** The guest's own count of /dev/vdb's 512-byte sectors, and how to read it back. */
// (The quotes keep the typed command's echo from matching the answer.)
const SIZE = 'echo "vdb""-size=$(cat /sys/block/vdb/size)-end"';
const sectors = (answer: string): number => Number(/vdb-size=(\d+)-end/.exec(answer)?.[1]);

const tinyVm = (ns: string, name: string, disk: string): object => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns, labels: { 'vmplane.io/owner': 'team-web' } },
  spec: {
    className: 'best-effort-small',
    image: { kind: 'ClusterVirtualMachineImage', name: 'tiny-linux' },
    disks: [{ name: 'data', virtualMachineDiskName: disk }],
  },
});
const disk = (ns: string, name: string, size: string, source: object): object => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachineDisk',
  metadata: { name, namespace: ns },
  spec: { size, source },
});

async function kubectl(args: string[]): Promise<string> {
  const bin = join(stateDir, 'bin', 'kubectl');
  const { stdout } = await run(bin, ['--kubeconfig', sandbox.kubeconfigPath, ...args]);
  return stdout;
}

async function kubectlVm(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts'), ...args],
    // Killed after 2 minutes: a command that waits on its input (ssh without a command) ends.
    {
      cwd: REPO_ROOT,
      env: { ...process.env, KUBECONFIG: sandbox.kubeconfigPath },
      timeout: 120_000,
    },
  );
  return stdout;
}

beforeAll(async () => {
  stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-sandbox-guests-`),
  );
  sandbox = await startSandbox({ stateDir, ui: false, log: (l) => logged.push(l) });
  if (!sandbox.parts.engine)
    throw new Error(`the sandbox started no local engine:\n${logged.join('\n')}`);
  engine = sandbox.parts.engine.engine;
  kc = kubeConfigFrom(sandbox.kubeconfigPath);
  rest = new KubeRest(kc);
}, 900_000);

afterAll(async () => {
  debianConsole?.close();
  rest?.close();
  await sandbox?.stop('the test is done');
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe('the Debian example, debian-1', () => {
  it('boots: cloud-init writes its file, adds its user and starts its unit, as the serial console shows', async () => {
    await untilPrintable('demo', 'debian-1', 'Running');
    // Opened as soon as it runs: the console keeps everything from here on.
    debianConsole = await openConsole(kc, 'demo', 'debian-1');
    const c = debianConsole;
    const hello = await until(
      'the hello unit on the console',
      async () =>
        /hello from debian-1: written by cloud-init[^\n]*uid=\d+\(demo\)/.exec(c.text())?.[0],
    ).catch((e: Error) => {
      throw new Error(`${e.message}; the console showed:\n${c.text().slice(-3000)}`);
    });
    expect(hello).toContain('from the VM');
    expect(c.text()).toMatch(/Debian GNU\/Linux 12/);
  }, 900_000);

  it('has its guest agent heard: AgentConnected, the OS in the VMI, in kubectl vm get and in vmplane’s status', async () => {
    const vmi = await until('AgentConnected on the instance', async () => {
      const v = await get('/apis/kubevirt.io/v1/namespaces/demo/virtualmachineinstances/debian-1');
      const c = v?.status?.conditions?.find((x: { type: string }) => x.type === 'AgentConnected');
      return c?.status === 'True' ? v : undefined;
    });
    expect(vmi.status?.guestOSInfo).toMatchObject({ id: 'debian', versionId: '12' });
    const json = await kubectl([
      'get',
      'vmi',
      'debian-1',
      '-n',
      'demo',
      '-o',
      'jsonpath={.status.guestOSInfo}',
    ]);
    expect(JSON.parse(json)).toMatchObject({
      id: 'debian',
      prettyName: expect.stringMatching(/Debian GNU\/Linux 12/),
    });
    const ifaces = vmi.status?.interfaces as { infoSource?: string }[];
    expect(ifaces.some((i) => i.infoSource?.includes('guest-agent'))).toBe(true);
    expect(await kubectlVm(['get', 'debian-1', '-n', 'demo'])).toMatch(/Debian GNU\/Linux 12/);
    const status = await until(
      'vmplane’s guestOS',
      async () => (await vmStatus('demo', 'debian-1'))?.guestOS,
    );
    expect(status).toMatchObject({ id: 'debian' });
    // The guest agent readiness probe passes only once the agent answers.
    await untilPrintable('demo', 'debian-1', 'Running');
    expect(
      (await get(`${VMP('demo')}/virtualmachines/debian-1`))?.status?.ready ?? true,
    ).toBeTruthy();
  }, 300_000);

  it('takes ssh: kubectl vm ssh runs a command as demo with the sandbox’s key, and real virtctl port-forward reaches sshd', async () => {
    // The key pair the sandbox made, which cloud-init authorized for demo (kubectl vm ssh finds it
    // beside the kubeconfig).
    const said = await until('a command over kubectl vm ssh', () =>
      kubectlVm([
        'ssh',
        'demo@debian-1',
        '-n',
        'demo',
        '--',
        'id -un; cat /etc/vmplane/hello.txt',
      ]).catch(() => undefined),
    );
    expect(said).toMatch(/^demo\n/);
    expect(said).toContain("written by cloud-init from the VM's user data");
    // KubeVirt's own client through the same portforward subresource: sshd's banner comes back.
    const home = join(stateDir, 'virtctl-home');
    mkdirSync(home, { recursive: true });
    const v = new Virtctl(await ensureVirtctl(() => undefined), sandbox.kubeconfigPath, home);
    try {
      const child = v.spawn(['port-forward', '--stdio', '-n', 'demo', 'vm/debian-1', '22']);
      let out = '';
      child.stdout?.on('data', (b: Buffer) => (out += String(b)));
      const banner = await until(
        'sshd’s banner through virtctl',
        async () => /^SSH-2\.0-OpenSSH_\S+/.exec(out)?.[0],
        60_000,
      );
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH_9/);
    } finally {
      v.killAll();
    }
  }, 300_000);
});

describe('the example disks', () => {
  it('are all Bound, each claim’s file where its volume says, of the size it asks', async () => {
    for (const name of ['pg-data', 'legacy-root']) {
      const d = await until(`disk ${name} Ready`, async () => {
        const o = await get(`${VMP('demo')}/virtualmachinedisks/${name}`);
        return o?.status?.phase === 'Ready' ? o : undefined;
      });
      const file = await claimFile('demo', d.status?.claimName ?? name);
      expect(existsSync(file)).toBe(true);
    }
    for (const c of await list(`${CORE('demo')}/persistentvolumeclaims`)) {
      expect(c.status?.phase, `claim ${c.metadata.name}`).toBe('Bound');
      const file = await claimFile('demo', c.metadata.name);
      const info = JSON.parse((await run('qemu-img', ['info', '--output=json', file])).stdout) as {
        'virtual-size': number;
      };
      expect(info['virtual-size']).toBeGreaterThanOrEqual(1);
    }
  }, 300_000);

  it('web-1’s image cannot be had here: its DataVolume fails with CDI’s reason and the VM shows DataVolumeError', async () => {
    const s = await untilPrintable('demo', 'web-1', 'DataVolumeError');
    expect(JSON.stringify(s)).toContain('cloud-images.ubuntu.com');
  }, 300_000);
});

describe('vmplane disks with real bytes', () => {
  it('a disk cloned from another carries what a guest wrote; grown, it is bigger in the guest', async () => {
    await rest.create(disk('demo', 'src', '64Mi', { blank: {} }) as never);
    // Attached once Ready: a disk whose status is still changing fast can make the admission's
    // claim on it give up after its retries ("try again"), which a user would then do.
    await diskReady('demo', 'src');
    await rest.create(tinyVm('demo', 'writer', 'src') as never);
    await untilPrintable('demo', 'writer', 'Running');
    await tinyAsk(
      'demo',
      'writer',
      'echo vmplane-marker-31 > /dev/vdb; sync; echo wrote-$((6*7))',
      'wrote-42',
    );
    await setPower('demo', 'writer', 'PoweredOff');
    await untilPrintable('demo', 'writer', 'Stopped');
    await rest.create(disk('demo', 'copy', '64Mi', { disk: { name: 'src' } }) as never);
    await diskReady('demo', 'copy');
    await rest.create(tinyVm('demo', 'reader', 'copy') as never);
    await untilPrintable('demo', 'reader', 'Running');
    await tinyAsk('demo', 'reader', 'head -c 18 /dev/vdb; echo', 'vmplane-marker-31');
    const before = sectors(await tinyAsk('demo', 'reader', SIZE, 'vdb-size='));
    // Grown while stopped: the guest sees the new size at its next start.
    await setPower('demo', 'reader', 'PoweredOff');
    await untilPrintable('demo', 'reader', 'Stopped');
    await rest.request('PATCH', `${VMP('demo')}/virtualmachinedisks/copy`, {
      body: { spec: { size: '128Mi' } },
      contentType: 'application/merge-patch+json',
    });
    await until('the claim grown', async () => {
      const c = await get(`${CORE('demo')}/persistentvolumeclaims/copy`);
      const cap = c?.status?.capacity?.storage as string | undefined;
      return cap && compareQuantities(cap, '128Mi') >= 0 ? c : undefined;
    });
    await setPower('demo', 'reader', 'PoweredOn');
    await untilPrintable('demo', 'reader', 'Running');
    const after = sectors(await tinyAsk('demo', 'reader', SIZE, 'vdb-size='));
    expect(after * 512).toBeGreaterThanOrEqual(128 * 2 ** 20);
    expect(after).toBeGreaterThan(before);
  }, 600_000);

  it('deleting a disk deletes its claim, its volume and its file', async () => {
    const file = await claimFile('demo', 'src');
    await rest.request('DELETE', `${VMP('demo')}/virtualmachines/writer`);
    await until('writer gone', async () => !(await get(`${VMP('demo')}/virtualmachines/writer`)));
    await rest.request('DELETE', `${VMP('demo')}/virtualmachinedisks/src`);
    await until('the file gone', async () => !existsSync(file));
    expect(await get(`${CORE('demo')}/persistentvolumeclaims/src`)).toBeUndefined();
    // The clone made from it keeps its bytes, and says so.
    expect((await get(`${VMP('demo')}/virtualmachinedisks/copy`))?.status?.phase).toBe('Ready');
  }, 300_000);

  it('deleting a namespace removes its VMs, disks, claims, volumes and files', async () => {
    await rest.create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'doomed' },
    } as never);
    await rest.create(disk('doomed', 'data', '32Mi', { blank: {} }) as never);
    await diskReady('doomed', 'data');
    await rest.create(tinyVm('doomed', 'tiny', 'data') as never);
    await untilPrintable('doomed', 'tiny', 'Running');
    const files = await Promise.all(
      (await list(`${CORE('doomed')}/persistentvolumeclaims`)).map((c) =>
        claimFile('doomed', c.metadata.name),
      ),
    );
    expect(files.length).toBeGreaterThanOrEqual(2);
    await rest.request('DELETE', '/api/v1/namespaces/doomed');
    await until('the namespace gone', async () => !(await get('/api/v1/namespaces/doomed')));
    expect(engine.running.has('doomed/tiny')).toBe(false);
    for (const f of files) expect(existsSync(f), f).toBe(false);
    const pvs = await list('/api/v1/persistentvolumes');
    expect(pvs.filter((p) => p.spec?.claimRef?.namespace === 'doomed')).toEqual([]);
  }, 600_000);
});
