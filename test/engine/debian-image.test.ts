// The library's Debian 12 cloud image, for real: built from Debian's packages (or taken from the
// cache), booted once under plain QEMU (software emulation) from a qcow2 overlay, with a NoCloud
// seed made by the engine's own module. cloud-init applies the user data (a file, a user with a
// password and an ssh key, a systemd unit enabled by runcmd); the test logs in as that user on the
// serial console, as a person would, and reads it all back. The QEMU guest agent answers on its
// virtio-serial channel. No network leaves the VM (user-mode network with restrict=on).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { makeSeedIso, seedFiles } from '../../engine/src/cloud-init-seed.ts';
import { ensureDebianImage, type DebianImage } from '../../engine/src/images/debian.ts';
import { Serial } from '../../engine/src/qemu.ts';

const HOSTNAME = 'deb-1';
const USER = 'alice';
const PASSWORD = 'vmplane-Secret-1';

/** An ed25519 public key in OpenSSH's format (what ssh-keygen -y prints). */
function sshPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} vmplane-test`;
}

const KEY = sshPublicKey();
const USER_DATA = `#cloud-config
users:
  - name: ${USER}
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    lock_passwd: false
    plain_text_passwd: ${PASSWORD}
    ssh_authorized_keys: ['${KEY}']
write_files:
  - path: /etc/vmplane/greeting
    content: hello from cloud-init
  - path: /etc/systemd/system/vmplane-hello.service
    content: |
      [Unit]
      Description=vmplane's example unit
      [Service]
      Type=oneshot
      RemainAfterExit=yes
      ExecStart=/bin/sh -c 'echo "vmplane-hello: $(cat /etc/vmplane/greeting)" > /run/vmplane-hello'
      [Install]
      WantedBy=multi-user.target
runcmd:
  - systemctl enable --now vmplane-hello.service
`;

let image: DebianImage;
let dir = '';
let qemu: ChildProcess | undefined;
let serial: Serial | undefined;
let started = 0;

/** One QEMU Guest Agent command over the socket: sync (guest-sync-delimited) first, then it. */
function agentCommand(socket: string, command: string, timeoutMs: number): Promise<unknown> {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let buf = '';
    let synced = false;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from the guest agent within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('error', (e) => (clearTimeout(timer), reject(e)));
    s.on('connect', () =>
      s.write(`${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } })}\n`),
    );
    s.on('data', (b: Buffer) => {
      // The agent answers the sync after a 0xFF byte, which flushes whatever came before.
      buf += b.toString('latin1');
      const ff = buf.lastIndexOf('\xff');
      if (ff >= 0) buf = buf.slice(ff + 1);
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const msg = JSON.parse(buf.slice(0, nl)) as { return?: unknown; error?: unknown };
        buf = buf.slice(nl + 1);
        if (!synced && msg.return === id) {
          synced = true;
          s.write(`${JSON.stringify({ execute: command })}\n`);
        } else if (synced) {
          clearTimeout(timer);
          s.destroy();
          return msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.return);
        }
      }
    });
  });
}

beforeAll(async () => {
  image = await ensureDebianImage(cacheRoot(), (l) => console.log(l));
  dir = mkdtempSync(join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-deb-`));
  const disk = join(dir, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.qcow2, disk]);
  const seed = await makeSeedIso(
    dir,
    seedFiles({ userData: USER_DATA, instanceId: 'i-debian-test', hostname: HOSTNAME }),
  );
  const sock = join(dir, 'serial.sock');
  started = Date.now();
  qemu = spawn(
    'qemu-system-x86_64',
    [
      ...['-accel', 'tcg', '-m', '512', '-smp', '1', '-nodefaults', '-display', 'none'],
      ...['-serial', `unix:${sock},server=on,wait=off`],
      ...['-drive', `file=${disk},format=qcow2,if=virtio`],
      ...['-drive', `file=${seed},format=raw,if=virtio,readonly=on`],
      ...['-nic', 'user,model=virtio-net-pci,restrict=on'],
      ...['-chardev', `socket,path=${join(dir, 'qga.sock')},server=on,wait=off,id=qga0`],
      ...['-device', 'virtio-serial-pci'],
      ...['-device', 'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0'],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; !serial; i++) {
    if (existsSync(sock)) serial = await Serial.open(sock);
    else if (i > 200 || qemu.exitCode !== null) throw new Error('QEMU did not open its serial');
    else await new Promise((r) => setTimeout(r, 50));
  }
}, 3_600_000);

afterAll(() => {
  serial?.close();
  if (qemu && qemu.exitCode === null) qemu.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the Debian 12 cloud image under QEMU', () => {
  it('boots to a login prompt, and cloud-init finishes with the seed', async () => {
    if (!serial) throw new Error('no VM');
    expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
    await serial.waitFor(`${HOSTNAME} login:`, 600_000);
    const login = Date.now() - started;
    await serial.waitFor(/Cloud-init v\. \S+ finished at/, 600_000);
    console.log(
      `Debian 12 under TCG: login prompt ${Math.round(login / 1000)} s, cloud-init final ${Math.round((Date.now() - started) / 1000)} s after QEMU started`,
    );
    expect(serial.output).toContain('Debian GNU/Linux 12');
  }, 1_300_000);

  it('lets the user cloud-init made log in on the console and shows what the user data asked', async () => {
    if (!serial) throw new Error('no VM');
    let from = serial.output.length;
    serial.type('\n');
    await serial.waitFor(`${HOSTNAME} login:`, 60_000, from);
    serial.type(`${USER}\n`);
    await serial.waitFor('Password:', 60_000, from);
    from = serial.output.length;
    serial.type(`${PASSWORD}\n`);
    await serial.waitFor(`${USER}@${HOSTNAME}:~$`, 120_000, from);
    from = serial.output.length;
    serial.type(
      'echo "R1 $(cat /etc/vmplane/greeting) R2 $(cat /run/vmplane-hello) R3 $(systemctl is-enabled vmplane-hello) R4 $(sudo -n grep -c vmplane-test ~/.ssh/authorized_keys) R5 $(systemctl is-active ssh) R6 $(ls /etc/ssh/ssh_host_ed25519_key.pub)"\n',
    );
    await serial.waitFor(
      'R1 hello from cloud-init R2 vmplane-hello: hello from cloud-init R3 enabled R4 1 R5 active R6 /etc/ssh/ssh_host_ed25519_key.pub',
      120_000,
      from,
    );
  }, 400_000);

  it('has its QEMU guest agent answer guest-get-osinfo on the virtio-serial channel', async () => {
    const deadline = Date.now() + 180_000;
    let info: unknown;
    while (!info) {
      try {
        info = await agentCommand(join(dir, 'qga.sock'), 'guest-get-osinfo', 10_000);
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
    }
    expect(info).toMatchObject({
      id: 'debian',
      'version-id': '12',
      'pretty-name': 'Debian GNU/Linux 12 (bookworm)',
      'kernel-release': expect.stringMatching(/-cloud-amd64$/) as string,
    });
  }, 200_000);
});
