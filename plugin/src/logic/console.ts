// When the serial console can connect, and where. Pure functions.

/** KubeVirt serves the console of a running (or paused) instance only. */
export function consoleAvailable(printableStatus: string): boolean {
  return (
    printableStatus === 'Running' || printableStatus === 'Paused' || printableStatus === 'Migrating'
  );
}

/** KubeVirt's console subresource of the VM's instance (same name as the VM). */
export function consolePath(namespace: string, name: string): string {
  return `/apis/subresources.kubevirt.io/v1/namespaces/${encodeURIComponent(
    namespace
  )}/virtualmachineinstances/${encodeURIComponent(name)}/console`;
}
