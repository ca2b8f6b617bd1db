// What `npm start` says about the example VMs once the rest is up: each VM the engine runs, when
// it runs and where (the address the engine saw the guest take), or why it does not run yet.
import type { KubeConfig } from '@kubernetes/client-node';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';

/** Waits for the demo VM to run, and says where it is; a VM that does not run is said too. */
export async function reportDemoVm(
  kc: KubeConfig,
  demo: { namespace: string; name: string },
  log: (l: string) => void,
): Promise<void> {
  const rest = new KubeRest(kc);
  const key = `${demo.namespace}/${demo.name}`;
  const path = `/apis/vmplane.io/v1alpha1/namespaces/${demo.namespace}/virtualmachines/${demo.name}`;
  type Vm = { status?: { printableStatus?: string; primaryIP?: string } };
  let last: Vm | undefined;
  try {
    const vm = await waitUntil(
      `VM ${key} Running`,
      async () => {
        last = (await rest.request<Vm>('GET', path).catch(() => undefined))?.body;
        return last?.status?.printableStatus === 'Running' ? last : undefined;
      },
      120_000,
      250,
    );
    // The address comes once the guest took one by DHCP (the engine reports what it saw).
    const addressed = await waitUntil(
      `VM ${key} has an address`,
      async () => {
        const v = (await rest.request<Vm>('GET', path).catch(() => undefined))?.body;
        return v?.status?.primaryIP ? v : undefined;
      },
      60_000,
      250,
    ).catch(() => vm);
    vm.status = { ...vm.status, ...addressed.status };
    log(
      `VM ${key} Running${vm.status?.primaryIP ? ` at ${vm.status.primaryIP}` : ''}: a real guest under QEMU; try:`,
    );
  } catch {
    log(
      `VM ${key} is not running yet (${last?.status?.printableStatus ?? 'no status'}); kubectl vm list -n ${demo.namespace} shows why; then try:`,
    );
  } finally {
    rest.close();
  }
}
