// The cloudInitNoCloud volume as the engine attaches it: KubeVirt's device defaults, the buses
// the engine can give, and a Secret that does not exist (the guest waits, in kubelet's words).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cloudInitPlan, prepareSeed } from './cloud-init-volume.ts';
import type { KvVmi } from './engine-context.ts';

const vmi = (disks: object[], cloudInitNoCloud: object = { userData: '#cloud-config\n' }): KvVmi =>
  ({
    metadata: { name: 'deb.x', namespace: 'ns', uid: 'u-1' },
    spec: {
      domain: { devices: { disks } },
      volumes: [
        { name: 'root', persistentVolumeClaim: { claimName: 'c' } },
        { name: 'cloudinitdisk', cloudInitNoCloud },
      ],
    },
  }) as unknown as KvVmi;

describe('the seed device', () => {
  it("follows the volume's disks[] entry, with KubeVirt's defaults", () => {
    const plan = (disks: object[]) => {
      const p = cloudInitPlan(vmi(disks));
      return p.ok ? { cdrom: p.plan?.cdrom, bus: p.plan?.bus } : p.message;
    };
    expect(plan([{ name: 'cloudinitdisk', cdrom: {} }])).toEqual({ cdrom: true, bus: 'sata' });
    expect(plan([{ name: 'cloudinitdisk', disk: {} }])).toEqual({ cdrom: false, bus: 'virtio' });
    expect(plan([{ name: 'cloudinitdisk', disk: { bus: 'sata' } }])).toEqual({
      cdrom: false,
      bus: 'sata',
    });
    expect(plan([])).toEqual({ cdrom: false, bus: 'virtio' });
    expect(plan([{ name: 'cloudinitdisk', disk: { bus: 'scsi' } }])).toBe(
      'spec.domain.devices.disks[cloudinitdisk].disk.bus: "scsi" is not accepted by the local engine; accepted: virtio or sata',
    );
    expect(plan([{ name: 'cloudinitdisk', lun: {} }])).toMatch(/a lun is not accepted/);
  });
  it('no cloud-init volume, no seed', () => {
    const v = vmi([]);
    v.spec.volumes = v.spec.volumes?.slice(0, 1);
    expect(cloudInitPlan(v)).toEqual({ ok: true });
  });
});

describe('the seed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-seed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const none = async () => undefined;

  it('waits for a Secret that does not exist, in kubelet words', async () => {
    const source = { secretRef: { name: 'user-secret' } };
    expect(await prepareSeed(vmi([], source), dir, none)).toEqual({
      ok: false,
      waiting: true,
      message:
        'MountVolume.SetUp failed for volume "cloudinitdisk-udata" : secret "user-secret" not found',
    });
  });
  it("reads the Secret's userdata key and makes the ISO, attached as the disk says", async () => {
    const source = { secretRef: { name: 's' }, networkData: 'version: 2\n' };
    const read = async (ns: string, name: string) =>
      ns === 'ns' && name === 's' ? { userdata: '#cloud-config\nhostname: x\n' } : undefined;
    const seed = await prepareSeed(vmi([{ name: 'cloudinitdisk', cdrom: {} }], source), dir, read);
    expect(seed).toEqual({
      ok: true,
      seed: { path: join(dir, 'noCloud.iso'), name: 'cloudinitdisk', cdrom: true, bus: 'sata' },
    });
    const iso = readFileSync(join(dir, 'noCloud.iso'));
    // ISO 9660: the primary volume descriptor at 32 KiB, its volume id at byte 40.
    expect(iso.subarray(32768 + 40, 32768 + 46).toString()).toBe('cidata');
    expect(iso.includes('hostname: x')).toBe(true);
    expect(iso.includes('"instance-id":"u-1","local-hostname":"deb"')).toBe(true);
  });
  it('fails a seed without data, with KubeVirt words', async () => {
    const seed = await prepareSeed(vmi([], {}), dir, none);
    expect(seed).toMatchObject({ ok: false, waiting: false });
    expect((seed as { message: string }).message).toMatch(
      /userDataBase64, userData, networkDataBase64 or networkData is required/,
    );
  });
});
