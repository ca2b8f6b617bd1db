import { join } from 'node:path';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { allKinds as kinds } from '../../api/src/v1alpha1/index.ts';
import { loadManifestDir } from '../../kube/src/manifests.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { macClaimName } from '../../decisions/src/network-pool.ts';
import { applyManifests, describeObject } from '../../kube/src/client.ts';
import { kubeConfig, kubectl, parseTable } from '../support/cluster.ts';
import { installEngineCrds } from '../support/kubevirt.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

describe('CRDs in a real kube-apiserver', () => {
  it('are all installed and Established', async () => {
    const ext = kubeConfig().makeApiClient(ApiextensionsV1Api);
    const list = await ext.listCustomResourceDefinition({
      labelSelector: 'app.kubernetes.io/part-of=vmplane',
    });
    const established = list.items
      .filter((c) =>
        c.status?.conditions?.some((x) => x.type === 'Established' && x.status === 'True'),
      )
      .map((c) => c.spec.names.kind)
      .sort();
    expect(established).toEqual(kinds.map((k) => k.kind).sort());
  });

  it('give kubectl explain the field descriptions', async () => {
    const explain = async (path: string): Promise<string> => {
      const r = await kubectl(['explain', path]);
      expect(r.stderr).toBe('');
      return r.stdout.replace(/\s+/g, ' ');
    };
    const className = await explain('vmpvm.spec.className');
    expect(className).toContain('FIELD: className <string>');
    expect(className).toContain('The VirtualMachineClass that sizes the VM (kubectl get vmclass).');
    expect(await explain('vmdisk.spec.accessModes')).toContain(
      'When omitted, taken from the StorageProfile of the storage class',
    );
    expect(await explain('virtualmachineclass')).toContain(
      'A VirtualMachineClass is a size of virtual machine',
    );
    expect(await explain('vmpolicy.spec.validationActions')).toContain(
      'Deny and Warn cannot be combined',
    );
  });

  it("resolve every vmplane short name to vmplane's kind with KubeVirt's and CDI's real CRDs installed", async () => {
    await installEngineCrds(kubeConfig());
    // A fresh discovery cache: kubectl would otherwise answer from what it saw before the install.
    const cache = mkdtempSync(join(tmpdir(), 'vmplane-kubectl-cache-'));
    try {
      const resolve = async (name: string): Promise<string> => {
        const r = await kubectl(['explain', name, '--cache-dir', cache]);
        expect(r.stderr, name).toBe('');
        const group = /GROUP:\s+(\S+)/.exec(r.stdout)?.[1];
        const kind = /KIND:\s+(\S+)/.exec(r.stdout)?.[1];
        return `${kind}.${group}`;
      };
      const ours = kinds.filter((k) => !k.group);
      expect(ours.length).toBeGreaterThan(5);
      for (const k of ours)
        for (const short of k.shortNames)
          expect(await resolve(short), short).toBe(`${k.kind}.vmplane.io`);
      // Why vmplane's VM is not `vm`: with KubeVirt installed, that name is KubeVirt's.
      expect(await resolve('vm')).toBe('VirtualMachine.kubevirt.io');
      expect(await resolve('dv')).toBe('DataVolume.cdi.kubevirt.io');
      const all = await kubectl(['get', 'vmplane', '-A', '-o', 'name', '--cache-dir', cache]);
      expect(all.stderr).toBe('');
      expect(all.stdout).not.toContain('kubevirt.io');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  const examples = loadManifestDir(join(REPO_ROOT, 'examples'));

  it('accept every example in examples/', async () => {
    expect(examples.length).toBeGreaterThan(10);
    await applyManifests(
      kubeConfig(),
      examples.map((e) => e.object),
    );
    for (const e of examples) {
      const ns = e.object.metadata.namespace ? ['-n', e.object.metadata.namespace] : [];
      const group = e.object.apiVersion.includes('/')
        ? `.${e.object.apiVersion.split('/')[0]}`
        : '';
      const got = await kubectl([
        'get',
        `${e.object.kind.toLowerCase()}${group}`,
        e.object.metadata.name,
        ...ns,
        '-o',
        'name',
      ]);
      expect(got.stderr, describeObject(e.object)).toBe('');
    }
  });

  it('print CLASS, IMAGE, POWER, STATUS, IP, NODE and AGE in kubectl get vmpvm', async () => {
    const r = await kubectl(['get', 'vmpvm', '-n', 'demo']);
    const table = parseTable(r.stdout);
    expect(table.header).toEqual([
      'NAME',
      'CLASS',
      'IMAGE',
      'POWER',
      'STATUS',
      'IP',
      'NODE',
      'AGE',
    ]);
    expect(table.rows.map((row) => [row.NAME, row.CLASS, row.IMAGE, row.POWER])).toEqual([
      ['db-1', 'guaranteed-medium', '', 'PoweredOff'],
      ['debian-1', 'best-effort-small', 'debian-12', 'PoweredOn'],
      ['tiny-1', 'best-effort-small', 'tiny-linux', 'PoweredOn'],
      ['web-1', 'best-effort-small', 'ubuntu-24.04', 'PoweredOn'],
    ]);
  });

  it('list every vmplane kind under kubectl get vmplane', async () => {
    // The examples make one of each kind but NetworkAddress, which admission writes: one here.
    const address = `02:76:6d:fe:${randomBytes(2)
      .toString('hex')
      .replace(/(..)(..)/, '$1:$2')}`;
    const claim = macClaimName(address);
    const made = await kubectl(
      ['create', '-f', '-'],
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: 'NetworkAddress',
        metadata: { name: claim },
        spec: { kind: 'MAC', address, vm: { namespace: 'demo', name: 'no', interface: 'default' } },
      }),
    );
    expect(made.stderr).toBe('');
    const r = await kubectl(['get', 'vmplane', '-A', '-o', 'name']);
    await kubectl(['delete', 'networkaddress.vmplane.io', claim]);
    expect(r.code).toBe(0);
    const kindsSeen = new Set(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('/')[0]),
    );
    for (const k of kinds) {
      if (k.group) continue; // third-party kinds (PolicyReport) have no objects yet
      expect(kindsSeen, k.kind).toContain(`${k.singular}.vmplane.io`);
    }
  });
});
