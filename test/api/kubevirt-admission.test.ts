// KubeVirt's and CDI's own validating admission on the test control plane (registered once by the
// global setup, harness/src/controlplane/kubevirt-admission.ts): kubevirt.io objects and
// DataVolumes written straight to the API server get virt-api's or cdi-apiserver's verdict, with
// their causes, as on a cluster that runs KubeVirt and CDI.
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureConformance } from '../../harness/src/controlplane/conformance.ts';
import {
  CDI_ADMISSION_LABELS,
  CDI_ADMISSION_NAME,
  KUBEVIRT_ADMISSION_LABELS,
  KUBEVIRT_ADMISSION_NAME,
  startKubeVirtAdmission,
} from '../../harness/src/controlplane/kubevirt-admission.ts';
import { isNotFound, KubeRest } from '../../kube/src/rest.ts';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.ts';

const CONFIGS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
type Config = {
  metadata: { uid: string; resourceVersion: string; labels?: Record<string, string> };
  webhooks?: { name: string; clientConfig: { url?: string } }[];
};

let ns: string;
beforeAll(async () => {
  ns = await createNamespace('kv-admission');
});

/** A VirtualMachine as a user would write it: halted, 64 MiB, one masquerade interface. */
function vm(name: string, patch: { memory?: string | null; mac?: string } = {}): object {
  const memory = patch.memory === undefined ? '64Mi' : patch.memory;
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      runStrategy: 'Halted',
      template: {
        spec: {
          domain: {
            devices: {
              interfaces: [
                {
                  name: 'default',
                  masquerade: {},
                  ...(patch.mac ? { macAddress: patch.mac } : {}),
                },
              ],
            },
            ...(memory ? { resources: { requests: { memory } } } : {}),
          },
          networks: [{ name: 'default', pod: {} }],
        },
      },
    },
  };
}

const apply = (o: object): ReturnType<typeof kubectl> =>
  kubectl(['apply', '-f', '-'], stringify(o));

describe("KubeVirt's validating admission on the API server", () => {
  it('accepts a valid VM', async () => {
    const r = await apply(vm('valid'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('virtualmachine.kubevirt.io/valid created');
  });

  it("refuses a macAddress that carries QEMU options, with KubeVirt's cause on the field", async () => {
    const r = await apply(vm('mac-injection', { mac: '52:54:00:00:00:01,romfile=/x' }));
    expect(r.code).not.toBe(0);
    // virt-api answers with the causes as an Invalid status, which the API server passes on.
    expect(r.stderr).toContain(
      'The request is invalid: spec.template.spec.domain.devices.interfaces[0].macAddress: interface spec.template.spec.domain.devices.interfaces[0].name has malformed MAC address (52:54:00:00:00:01,romfile=/x).',
    );
    expect((await kubectl(['get', 'vm', 'mac-injection', '-n', ns])).code).not.toBe(0);
  });

  it("refuses a VMI without memory with KubeVirt's cause; a VM without memory passes, as in KubeVirt v1.7.0 (its VMI is what is refused)", async () => {
    const vmi = {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: { name: 'no-memory', namespace: ns },
      spec: { domain: { devices: {} } },
    };
    const r = await kubectl(['create', '--dry-run=server', '-f', '-'], stringify(vmi));
    expect(r.code).not.toBe(0);
    // The only cause: the VMI is checked with KubeVirt's defaults for a new VMI applied (as its
    // mutating webhook would have), so the architecture it lacks is no cause.
    expect(r.stderr).toContain(
      "no memory requested, at least one of 'spec.domain.memory.guest', 'spec.domain.memory.hugepages.size' or 'spec.domain.resources.requests.memory' must be set",
    );
    expect(r.stderr).not.toContain('architecture');
    // virt-api's VM admitter does not check memory: the VM is stored, and starting it fails.
    const v = await kubectl(
      ['create', '--dry-run=server', '-f', '-'],
      stringify(vm('no-memory', { memory: null })),
    );
    expect(v.stderr).toBe('');
  });

  it('checks updates: a VM edited to an invalid memory request is refused and stays as it was', async () => {
    expect((await apply(vm('edited'))).code).toBe(0);
    const r = await apply(vm('edited', { memory: '-1Mi' }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "The request is invalid: spec.template.spec.domain.resources.requests.memory: spec.template.spec.domain.resources.requests.memory '-1Mi': must be greater than or equal to 0.",
    );
    const stored = await kubectl([
      'get',
      'vm',
      'edited',
      '-n',
      ns,
      '-o',
      'jsonpath={.spec.template.spec.domain.resources.requests.memory}',
    ]);
    expect(stored.stdout).toBe('64Mi');
  });

  it("is registered by the global setup with virt-api's webhooks, pointed at 127.0.0.1", async () => {
    const rest = new KubeRest(kubeConfig());
    try {
      const c = (await rest.request<Config>('GET', `${CONFIGS}/${KUBEVIRT_ADMISSION_NAME}`)).body;
      expect(c.metadata.labels).toMatchObject(KUBEVIRT_ADMISSION_LABELS);
      expect(c.webhooks?.map((w) => w.name)).toContain('virtualmachine-validator.kubevirt.io');
      expect(c.webhooks?.every((w) => w.clientConfig.url?.startsWith('https://127.0.0.1:'))).toBe(
        true,
      );
    } finally {
      rest.close();
    }
  });
});

describe("CDI's DataVolume validation on the API server", () => {
  const dv = (url: string): object => ({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name: 'imported', namespace: ns },
    spec: {
      source: { http: { url } },
      storage: { resources: { requests: { storage: '1Gi' } } },
    },
  });

  it("refuses a DataVolume importing from a scheme CDI does not know, with CDI's cause", async () => {
    const r = await kubectl(['create', '--dry-run=server', '-f', '-'], stringify(dv('ftp://x/a')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.source Invalid source URL scheme: ftp://x/a');
  });

  it('accepts a valid DataVolume', async () => {
    const r = await kubectl(
      ['create', '--dry-run=server', '-f', '-'],
      stringify(dv('https://example.invalid/disk.img')),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('datavolume.cdi.kubevirt.io/imported created (server dry run)');
  });

  it('is registered by the global setup with the webhook cdi-operator generates', async () => {
    const rest = new KubeRest(kubeConfig());
    try {
      const c = (await rest.request<Config>('GET', `${CONFIGS}/${CDI_ADMISSION_NAME}`)).body;
      expect(c.metadata.labels).toMatchObject(CDI_ADMISSION_LABELS);
      expect(c.webhooks?.map((w) => w.name)).toEqual(['datavolume-validate.cdi.kubevirt.io']);
    } finally {
      rest.close();
    }
  });
});

describe("KubeVirt's admission registration", () => {
  const bin = async (): Promise<string> => (await ensureConformance(() => undefined)).kubevirt;
  const suffix = randomBytes(3).toString('hex');
  const get = async (rest: KubeRest, name: string): Promise<Config | undefined> =>
    rest.request<Config>('GET', `${CONFIGS}/${name}`).then(
      (r) => r.body,
      (e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      },
    );
  const foreign = (name: string): object => ({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, labels: { 'app.kubernetes.io/managed-by': 'someone-else' } },
    webhooks: [],
  });

  it('removes its configuration and its process at stop', async () => {
    const rest = new KubeRest(kubeConfig());
    const name = `vmplane-kubevirt-admission-stop-${suffix}`;
    try {
      const running = await startKubeVirtAdmission({
        bin: await bin(),
        kubeconfigPath: inject('kubeconfig'),
        name,
      });
      expect((await get(rest, name))?.metadata.labels).toMatchObject(KUBEVIRT_ADMISSION_LABELS);
      await running.stop();
      expect(await get(rest, name)).toBeUndefined();
      expect(() => process.kill(running.pid, 0)).toThrow();
    } finally {
      await rest.request('DELETE', `${CONFIGS}/${name}`).catch(() => undefined);
      rest.close();
    }
  });

  it("never touches someone else's configuration of the same name", async () => {
    const rest = new KubeRest(kubeConfig());
    const name = `vmplane-kubevirt-admission-foreign-${suffix}`;
    try {
      const theirs = (await rest.request<Config>('POST', CONFIGS, { body: foreign(name) })).body;
      await expect(
        startKubeVirtAdmission({ bin: await bin(), kubeconfigPath: inject('kubeconfig'), name }),
      ).rejects.toThrow(`ValidatingWebhookConfiguration ${name} exists and is not vmplane's`);
      expect((await get(rest, name))?.metadata.resourceVersion).toBe(
        theirs.metadata.resourceVersion,
      );

      // Replaced by someone else while it runs: stop leaves the new one alone.
      await rest.request('DELETE', `${CONFIGS}/${name}`);
      const running = await startKubeVirtAdmission({
        bin: await bin(),
        kubeconfigPath: inject('kubeconfig'),
        name,
      });
      await rest.request('DELETE', `${CONFIGS}/${name}`);
      const replaced = (await rest.request<Config>('POST', CONFIGS, { body: foreign(name) })).body;
      await running.stop();
      expect((await get(rest, name))?.metadata.uid).toBe(replaced.metadata.uid);
    } finally {
      await rest.request('DELETE', `${CONFIGS}/${name}`).catch(() => undefined);
      rest.close();
    }
  });
});
