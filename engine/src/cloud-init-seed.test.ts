import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  makeSeedIso,
  noCloudData,
  seedFiles,
  seedHostname,
  seedIsoArgs,
} from './cloud-init-seed.ts';

describe('seedFiles', () => {
  it('writes meta-data as virt-launcher marshals it, user-data as given', () => {
    expect(seedFiles({ userData: '#cloud-config\n', instanceId: 'u-1', hostname: 'deb' })).toEqual({
      'meta-data': '{"instance-id":"u-1","local-hostname":"deb"}',
      'user-data': '#cloud-config\n',
    });
  });

  it('adds instance-type, public-keys (Go map order) and network-config when there are some', () => {
    const keys = Array.from({ length: 11 }, (_, i) => `ssh-ed25519 K${i}`);
    const f = seedFiles({
      userData: 'u',
      networkData: 'version: 2\n',
      instanceId: 'id',
      instanceType: 'u1.small',
      publicKeys: keys,
    });
    expect(f['network-config']).toBe('version: 2\n');
    expect(f['meta-data']).toMatch(
      /^\{"instance-type":"u1.small","instance-id":"id","public-keys":/,
    );
    expect(f['meta-data']).toContain(
      '"public-keys":{"0":"ssh-ed25519 K0","1":"ssh-ed25519 K1","10":"ssh-ed25519 K10","2":',
    );
    const meta = JSON.parse(f['meta-data']) as { 'public-keys': Record<string, string> };
    expect(meta['public-keys']['10']).toBe('ssh-ed25519 K10');
  });

  it('escapes like Go and refuses a seed without an instance id or data', () => {
    expect(seedFiles({ userData: 'u', instanceId: 'a<b>&' })['meta-data']).toBe(
      '{"instance-id":"a\\u003cb\\u003e\\u0026"}',
    );
    expect(() => seedFiles({ userData: 'u', instanceId: '' })).toThrow(/instanceId/);
    expect(() => seedFiles({ userData: '', instanceId: 'x' })).toThrow(/userData or networkData/);
  });
});

describe('noCloudData and seedHostname', () => {
  it('takes inline text before base64, and a Secret before both', () => {
    expect(noCloudData('ci', { userData: 'a', userDataBase64: 'Yg==' })).toEqual({
      userData: 'a',
      networkData: '',
    });
    expect(noCloudData('ci', { userDataBase64: 'Yg==', networkDataBase64: 'bg==' })).toEqual({
      userData: 'b',
      networkData: 'n',
    });
    expect(
      noCloudData(
        'ci',
        { userData: 'inline', userDataSecretRef: { name: 's' } },
        { user: { userData: 'secret' } },
      ).userData,
    ).toBe('secret');
  });

  it('names the volume or field that is wrong', () => {
    expect(() => noCloudData('ci', {})).toThrow(
      'volume ci: userDataBase64, userData, networkDataBase64 or networkData is required',
    );
    expect(() => noCloudData('ci', { userDataSecretRef: { name: 's' } }, { user: {} })).toThrow(
      'no cloud-init data-source found at volume: ci',
    );
    expect(() => noCloudData('ci', { userDataBase64: 'not base64!' })).toThrow(
      /cloudInitNoCloud.userDataBase64: "not base64!" is not base64/,
    );
  });

  it('uses spec.hostname, else the name up to its first dot, at most 63 characters', () => {
    expect(seedHostname({ metadata: { name: 'vm.a.b' } })).toBe('vm');
    expect(seedHostname({ metadata: { name: 'x'.repeat(70) } })).toHaveLength(63);
    expect(seedHostname({ metadata: { name: 'vm' }, spec: { hostname: 'h' } })).toBe('h');
  });
});

describe('makeSeedIso', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-seed-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a cidata ISO holding the files, and nothing else is left in the folder', async () => {
    expect(seedIsoArgs('o.iso', 'd')).toEqual([
      '-output',
      'o.iso',
      '-volid',
      'cidata',
      '-joliet',
      '-rock',
      'd',
    ]);
    const iso = await makeSeedIso(
      dir,
      seedFiles({ userData: '#cloud-config\nhostname: x\n', instanceId: 'i-9', hostname: 'x' }),
    );
    expect(readdirSync(dir)).toEqual(['noCloud.iso']);
    expect(execFileSync('isoinfo', ['-d', '-i', iso]).toString()).toMatch(/Volume id: cidata/);
    const read = (p: string) => execFileSync('isoinfo', ['-R', '-i', iso, '-x', p]).toString();
    expect(read('/meta-data')).toBe('{"instance-id":"i-9","local-hostname":"x"}');
    expect(read('/user-data')).toBe('#cloud-config\nhostname: x\n');
    expect(existsSync(`${iso}.staging`)).toBe(false);
  });
});
