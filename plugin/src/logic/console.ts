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

/**
 * Where the plugin's files may be served, best guess first, from Headlamp's GET /plugins answer
 * (entries with a path such as "plugins/vmplane" and the folder name): folders named like the
 * plugin first, then the default "plugins/vmplane". Anything unexpected in the answer is ignored.
 */
export function pluginFolderCandidates(listed: unknown, name = 'vmplane'): string[] {
  const paths = (Array.isArray(listed) ? listed : [])
    .map(e => (typeof e === 'string' ? { path: e } : (e as { path?: unknown; name?: unknown })))
    .filter((e): e is { path: string; name?: unknown } => typeof e?.path === 'string')
    .filter(e => !e.path.includes('..'));
  const folder = (e: { path: string; name?: unknown }) =>
    typeof e.name === 'string' ? e.name : e.path.split('/').pop() ?? '';
  const ours = paths.filter(e => folder(e) === name || folder(e).startsWith(`${name}`));
  return [...new Set([...ours.map(e => e.path.replace(/^\/+|\/+$/g, '')), `plugins/${name}`])];
}
