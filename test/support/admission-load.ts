// Admission load through kube-apiserver, for tests that change the webhooks underneath it
// (certificate rotation): a class, a storage class and an image a VM can name, and clients that
// keep creating that VM as dry runs (through both webhooks, leaving nothing behind), counting
// admissions and failures until stopped.
import { API_VERSION } from '../../api/src/wellknown.ts';
import type { KubeRest } from '../../kube/src/rest.ts';

/** The cluster-scoped objects the load's VMs name, suffixed with the scope. */
export async function createLoadFixtures(rest: KubeRest, scope: string): Promise<void> {
  await rest.create({
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name: `c-${scope}` },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  });
  await rest.create({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: `sc-${scope}` },
    provisioner: 'rbd.csi.ceph.com',
  });
  await rest.create({
    apiVersion: API_VERSION,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: `i-${scope}` },
    spec: { source: { registry: { url: 'docker://x/y' } }, size: '1Gi' },
  });
}

export class AdmissionLoad {
  ok = 0;
  readonly failures: string[] = [];
  private running = false;
  private clients: Promise<void>[] = [];

  constructor(
    private readonly rest: KubeRest,
    private readonly namespace: string,
    private readonly scope: string,
  ) {}

  /** Starts `n` clients, each creating one VM after another. */
  start(n = 4): void {
    this.running = true;
    this.clients = Array.from({ length: n }, (_, i) => this.client(i + 1));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
  }

  private async client(id: number): Promise<void> {
    let n = 0;
    while (this.running) {
      const name = `vm-${id}-${n++}`;
      try {
        const got = await this.rest.create<{ spec: { powerState?: string } }>(
          {
            apiVersion: API_VERSION,
            kind: 'VirtualMachine',
            metadata: { name, namespace: this.namespace },
            spec: {
              className: `c-${this.scope}`,
              image: { name: `i-${this.scope}` },
              bootDisk: { storageClassName: `sc-${this.scope}` },
            },
          },
          { dryRun: true },
        );
        if (got.spec.powerState !== 'PoweredOn') this.failures.push(`${name}: not mutated`);
        else this.ok++;
      } catch (e) {
        this.failures.push(`${name} at ${new Date().toISOString()}: ${(e as Error).message}`);
      }
    }
  }
}
