// What `npm start` prints for a newcomer, and the sandbox's fixed sizes and names (pure).
import { relative } from 'node:path';

/** Guest RAM the sandbox gives a VM at most, whatever its class asks: VMs stay small here. */
export const SANDBOX_GUEST_MEMORY = 512 * 2 ** 20;
/** The example VM that boots in the sandbox. */
export const DEMO_VM = { namespace: 'demo', name: 'tiny-1' };

/** Lines that tell a newcomer what to try, with paths as they would type them. */
export function tryLines(kubeconfig: string, kubectlDir: string, cwd = process.cwd()): string[] {
  const rel = (p: string): string => {
    const r = relative(cwd, p);
    return r.startsWith('..') ? p : r;
  };
  return [
    'try:',
    `  export KUBECONFIG=${rel(kubeconfig)} PATH=${rel(kubectlDir)}:$PATH`,
    '  kubectl get vmplane -A                 # every vmplane object',
    '  kubectl get vmpvm -n demo              # VMs with class, image, power state',
    '  kubectl explain vmpvm.spec.className   # every field is documented',
    '  kubectl get vmclass                    # sizes on offer',
    '  kubectl vm list -n demo                # the kubectl vm plugin: VMs with their status',
    '  kubectl vm classes -n demo             # classes this namespace may use',
    '  kubectl apply -f examples/50-vms.yaml  # re-apply an example after editing it',
  ];
}

/** What to try with a VM that runs: its console, its power. */
export function vmLines(vm: { namespace: string; name: string }): string[] {
  const n = `${vm.name} -n ${vm.namespace}`;
  const line = (cmd: string, what: string): string => `  ${cmd}`.padEnd(41) + `# ${what}`;
  return [
    line(`kubectl vm console ${n}`, 'its serial console (Ctrl-] leaves)'),
    line(`kubectl vm pause ${n}`, 'pause, resume, stop, start, restart'),
  ];
}

/** The line for a machine without QEMU: what to install, and that the rest works anyway. */
export function noQemuLine(missing: string): string {
  return `VMs will not run here: ${missing} not found (sudo apt-get install qemu-system-x86 qemu-utils, or brew install qemu); everything else works`;
}
