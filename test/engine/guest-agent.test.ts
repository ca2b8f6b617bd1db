// A real Debian 12 guest under QEMU, booted once for this file, with its cloud-init and its QEMU
// guest agent: cloud-init applies the instance's cloudInitNoCloud user data (a file, a user, a
// root password, a runcmd that prints the file on the serial console), the engine hears the agent
// (AgentConnected, guestOSInfo, interfaces `domain, guest-agent`, the guestosinfo, userlist and
// filesystemlist subresources through the API server), and once qemu-guest-agent is stopped from
// the console, nothing of the agent is claimed any more. Beside it the tiny Linux, which has no
// agent: the subresources answer virt-api's refusal and AgentConnected never comes.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { localEngine, type LocalEngine } from '../../engine/src/controller.ts';
import { unregisterSubresourceApi, type SubresourceServer } from '../../engine/src/api-server.ts';
import { ensureDebianImage, type DebianImage } from '../../engine/src/images/debian.ts';
import { tinyLinuxLibrary } from '../../engine/src/main.ts';
import { ensureTinyLinux, TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { installEngineCrds } from '../support/kubevirt.ts';
import {
  serveSubresources,
  startTestStorage,
  tinyDataVolume,
  type TestStorage,
} from '../support/engine.ts';
import { libraryUrl } from '../../engine/src/library/routes.ts';
import { DEBIAN_IMAGE_NAME } from '../../engine/src/images/debian-recipe.ts';

const RUN = process.env.VMPLANE_RUN_ID ?? 'local';

/**
 * The Debian guest's boot disk: a DataVolume imported over loopback HTTP from the library's Debian
 * image (the engine plays CDI and the class's provisioner), as KubeVirt VMs get theirs.
 */
async function debianDisk(): Promise<object> {
  await rest.create({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name: 'debian-root', namespace: ns },
    spec: {
      source: { http: { url: libraryUrl({ name: DEBIAN_IMAGE_NAME, format: 'qcow2' }) } },
      storage: {
        storageClassName: storage?.storageClass ?? '',
        resources: { requests: { storage: '4Gi' } },
      },
    },
  } as never);
  return { name: 'root', dataVolume: { name: 'debian-root' } };
}

const USER_DATA = `#cloud-config
write_files:
  - path: /etc/vmplane-marker
    content: "written-by-cloud-init\\n"
users:
  - default
  - name: tester
    shell: /bin/bash
chpasswd:
  expire: false
  users:
    - {name: root, password: vmplane-root, type: text}
runcmd:
  - echo "runcmd says $(cat /etc/vmplane-marker) and $(id tester)" > /dev/ttyS0
`;

let ns = '';
let kc: KubeConfig;
let rest: KubeRest;
let manager: Manager;
let engine: LocalEngine;
let server: SubresourceServer | undefined;
let registered = false;
let dir = '';
let stateDir = '';
let storage: TestStorage | undefined;

type Obj = { metadata: { uid?: string }; spec: Record<string, any>; status?: Record<string, any> };
const VMI = (name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`;
const SUB = (name: string, what: string): string =>
  `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}/${what}`;
const get = (path: string): Promise<Obj | undefined> => getLive<Obj>(rest, path);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 600_000) =>
  waitUntil(what, probe as () => Promise<T | undefined>, ms, 500);
const condition = (o: Obj | undefined, type: string): { status: string } | undefined =>
  (o?.status?.conditions as { type: string; status: string }[] | undefined)?.find(
    (c) => c.type === type,
  );

/** A GET through the API server (the aggregated API), as kubectl get --raw sends it. */
async function call(path: string): Promise<{ code: number; type: string; body: string }> {
  const opts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(opts as never);
  const url = new URL(path, kc.getCurrentCluster()?.server);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...opts, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () =>
        resolve({ code: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const vmi = (name: string, volumes: object[], extra: Record<string, unknown> = {}): object => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name, namespace: ns },
  spec: {
    terminationGracePeriodSeconds: 0,
    domain: {
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'virtio' } },
          // A virtio disk, as KubeVirt's examples attach it: Debian's cloud kernel has no driver
          // for the q35 machine's SATA CD-ROM (sr_mod), so a cdrom seed would not be found.
          ...(volumes.length > 1 ? [{ name: 'cloudinitdisk', disk: { bus: 'virtio' } }] : []),
        ],
        interfaces: [{ name: 'default', masquerade: {} }],
      },
      memory: { guest: '256Mi' },
    },
    networks: [{ name: 'default', pod: {} }],
    volumes,
    ...extra,
  },
});

async function startEngine(
  image: Awaited<ReturnType<typeof ensureTinyLinux>>,
  debian: DebianImage,
): Promise<void> {
  storage = await startTestStorage(rest, {
    ns,
    stateDir,
    image,
    images: [{ name: DEBIAN_IMAGE_NAME, path: debian.qcow2, format: 'qcow2' }],
  });
  manager = new Manager({
    kc,
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  engine = localEngine(manager, {
    stateDir,
    image,
    library: [tinyLinuxLibrary(image)],
    provisioners: [storage.provisioner],
    memoryCapBytes: 256 * 2 ** 20,
    memoryBudgetBytes: () => 1024 * 2 ** 20,
    maxGraceMs: 1_000,
    unschedulableRetryMs: 1_000,
    // virt-launcher's intervals, shortened: the test sees each change within seconds.
    agentPoll: {
      intervals: { initialMs: 1_000, sysMs: 2_000, fileMs: 2_000, userMs: 2_000, versionMs: 2_000 },
      agent: { syncTimeoutMs: 5_000, commandTimeoutMs: 10_000 },
    },
  });
  server = await serveSubresources(rest, engine, 'agent');
  registered = true;
  manager.add(engine.definition);
  storage.add(manager);
  await manager.start();
}

let debianStarted = 0;

beforeAll(async () => {
  kc = kubeConfig();
  rest = new KubeRest(kc);
  await installEngineCrds(kc);
  ns = await createNamespace('agent');
  dir = mkdtempSync(join(tmpdir(), `vmplane-test-${RUN}-agent-`));
  stateDir = join(dir, 'state');
  const tiny = await ensureTinyLinux(cacheRoot(), () => undefined);
  const debian = await ensureDebianImage(cacheRoot(), (l: string) => console.log(`[debian] ${l}`));
  await startEngine(tiny, debian);
  const root = await debianDisk();
  await rest.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'debian-userdata', namespace: ns },
    stringData: { userdata: USER_DATA },
  } as never);
  debianStarted = Date.now();
  await rest.create(
    vmi(
      'debian',
      [
        root,
        {
          name: 'cloudinitdisk',
          cloudInitNoCloud: { secretRef: { name: 'debian-userdata' } },
        },
      ],
      { readinessProbe: { guestAgentPing: {}, timeoutSeconds: 5 } },
    ) as never,
  );
}, 3_600_000);

afterAll(async () => {
  await manager?.stop();
  await engine?.stopAll();
  await storage?.stop();
  await server?.close();
  if (registered) await unregisterSubresourceApi(rest).catch(() => undefined);
  rest?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const serial = () => {
  const r = engine.running.get(`${ns}/debian`);
  if (!r) throw new Error('the Debian guest has no process');
  return r.serial;
};

describe('a Debian guest with cloud-init and the QEMU guest agent', () => {
  it('cloud-init applies the user data from the Secret: the file, the user, the runcmd', async () => {
    await until('the Debian guest running', async () => engine.running.get(`${ns}/debian`));
    const shown = await serial().waitFor(/runcmd says .* and uid=\d+\(tester\)/, 900_000);
    console.log(`Debian: cloud-init's runcmd ran ${Date.now() - debianStarted} ms after the start`);
    expect(shown).toMatch(/runcmd says written-by-cloud-init and uid=\d+\(tester\) gid=/);
    // The NoCloud data source was found (not cloud-init's fallback).
    expect(serial().output).not.toContain('Used fallback datasource');
  }, 1_000_000);

  it('the agent is heard: AgentConnected, Debian in guestOSInfo, interfaces from the agent, Ready', async () => {
    const o = await until('AgentConnected and guestOSInfo', async () => {
      const v = await get(VMI('debian'));
      return condition(v, 'AgentConnected')?.status === 'True' && v?.status?.guestOSInfo?.id
        ? v
        : undefined;
    });
    console.log(`Debian: AgentConnected ${Date.now() - debianStarted} ms after the start`);
    expect(o.status?.guestOSInfo).toMatchObject({
      id: 'debian',
      name: 'Debian GNU/Linux',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      machine: 'x86_64',
    });
    expect(o.status?.guestOSInfo.kernelRelease).toMatch(/^6\.1\./);
    const withAgent = await until('an interface seen by the agent', async () => {
      const v = await get(VMI('debian'));
      const i = (v?.status?.interfaces as Record<string, any>[] | undefined)?.[0];
      return i?.infoSource === 'domain, guest-agent' ? i : undefined;
    });
    expect(withAgent).toMatchObject({ name: 'default', interfaceName: 'eth0' });
    expect(withAgent.ipAddresses).toContain('10.0.2.15');
    // The guestAgentPing readiness probe passes: guest-ping answered.
    await until(
      'Ready',
      async () => condition(await get(VMI('debian')), 'Ready')?.status === 'True',
    );
  }, 600_000);

  it('guestosinfo, userlist and filesystemlist answer through the API server', async () => {
    // Logged in as root on the console: the agent lists the user.
    const s = serial();
    // Enter until getty shows its prompt again (cloud-init's last lines may come after it).
    let from = s.output.length;
    await until(
      'the login prompt',
      async () => {
        s.type('\n');
        return s
          .waitFor(/login: $/m, 5_000, from)
          .then(() => true)
          .catch(() => undefined);
      },
      180_000,
    );
    from = s.output.length;
    s.type('root\n');
    await s.waitFor(/Password: $/m, 60_000, from);
    from = s.output.length;
    s.type('vmplane-root\n');
    await s.waitFor(/root@\S+:~# $/m, 120_000, from);
    const info = await call(SUB('debian', 'guestosinfo'));
    expect(info.code, info.body).toBe(200);
    const body = JSON.parse(info.body);
    expect(body).toMatchObject({ hostname: 'debian', os: { id: 'debian', versionId: '12' } });
    expect(body.guestAgentVersion).toMatch(/^7\.2/);
    expect(body.supportedCommands).toContainEqual({ name: 'guest-get-osinfo', enabled: true });
    const fs = JSON.parse((await call(SUB('debian', 'filesystemlist'))).body);
    expect(fs.items).toContainEqual(
      expect.objectContaining({ mountPoint: '/', fileSystemType: 'ext4' }),
    );
    const users = await until(
      'root in the user list',
      async () => {
        const u = JSON.parse((await call(SUB('debian', 'userlist'))).body);
        return u.items?.some((x: { userName: string }) => x.userName === 'root') ? u : undefined;
      },
      60_000,
    );
    expect(users.items[0].loginTime).toBeGreaterThan(1_700_000_000);
  }, 300_000);

  it('with qemu-guest-agent stopped in the guest, nothing of the agent is claimed', async () => {
    const s = serial();
    const from = s.output.length;
    s.type('systemctl stop qemu-guest-agent; echo stopped-$((6*7))\n');
    await s.waitFor('stopped-42', 60_000, from);
    const o = await until(
      'AgentConnected gone',
      async () => {
        const v = await get(VMI('debian'));
        return v && !condition(v, 'AgentConnected') ? v : undefined;
      },
      60_000,
    );
    // virt-handler removes the condition (it never writes False), and the engine claims no OS
    // info, no agent interface data.
    expect(o.status?.guestOSInfo).toBeUndefined();
    expect(o.status?.interfaces?.[0]?.infoSource).toBe('domain');
    expect(o.status?.interfaces?.[0]?.interfaceName).toBeUndefined();
    expect(condition(o, 'Ready')?.status).toBe('False');
    const refused = await call(SUB('debian', 'guestosinfo'));
    expect(refused.code).toBe(500);
    expect(refused.body).toBe(
      'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "debian": VMI does not have guest agent connected',
    );
  }, 300_000);
});

describe('the tiny Linux, which has no agent', () => {
  it('never has AgentConnected, and its subresources answer virt-api refusal', async () => {
    // A VM, so that the engine makes its DataVolume from the library's tiny Linux.
    const template = vmi('tiny', [{ name: 'root', dataVolume: { name: 'tiny-root' } }]) as {
      spec: object;
    };
    await rest.create({
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'tiny', namespace: ns },
      spec: {
        runStrategy: 'Always',
        dataVolumeTemplates: [tinyDataVolume('tiny-root', storage?.storageClass ?? '')],
        template: { spec: template.spec },
      },
    } as never);
    await until('the tiny guest running', async () => engine.running.get(`${ns}/tiny`));
    await engine.running.get(`${ns}/tiny`)?.serial.waitFor(TINY_PROMPT, 300_000);
    // Well past the poller's first round: still nothing.
    await new Promise((r) => setTimeout(r, 5_000));
    const o = await get(VMI('tiny'));
    expect(o?.status?.phase).toBe('Running');
    expect(condition(o, 'AgentConnected')).toBeUndefined();
    expect(o?.status?.guestOSInfo).toBeUndefined();
    for (const what of ['guestosinfo', 'userlist', 'filesystemlist']) {
      const r = await call(SUB('tiny', what));
      expect.soft(r.code, what).toBe(500);
      expect.soft(r.type, what).toMatch(/^text\/plain/);
      expect
        .soft(r.body, what)
        .toBe(
          'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "tiny": VMI does not have guest agent connected',
        );
    }
  }, 600_000);

  it('an instance whose cloud-init Secret does not exist does not start: kubelet words', async () => {
    await rest.create(
      vmi('no-secret', [
        { name: 'root', dataVolume: { name: 'tiny-root' } },
        { name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: 'absent' } } },
      ]) as never,
    );
    const o = await until(
      'the instance Scheduling',
      async () => {
        const v = await get(VMI('no-secret'));
        return v?.status?.phase ? v : undefined;
      },
      60_000,
    );
    expect(o.status?.phase).toBe('Scheduling');
    expect(condition(o, 'Ready')).toMatchObject({ status: 'False', reason: 'GuestNotRunning' });
    expect(engine.running.get(`${ns}/no-secret`)).toBeUndefined();
    const events = await rest.request<{ items: { reason: string; message: string }[] }>(
      'GET',
      `/api/v1/namespaces/${ns}/events`,
    );
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        reason: 'FailedMount',
        message:
          'MountVolume.SetUp failed for volume "cloudinitdisk-udata" : secret "absent" not found',
      }),
    );
  }, 120_000);
});
