// The arguments of `kubectl vm port-forward` and `kubectl vm ssh`, read and checked (pure): port
// specs as kubectl port-forward writes them, the ssh target, and the ssh command line that reaches
// the guest through `kubectl vm port-forward --stdio` as its ProxyCommand (as virtctl ssh's local
// client does).

/** One forwarded port: a loopback port (0: any free one) to a guest port. */
export interface PortSpec {
  local: number;
  remote: number;
}

function port(text: string, what: string, spec: string, zero: boolean): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < (zero ? 0 : 1) || n > 65535)
    throw new Error(
      `port "${spec}": the ${what} port "${text}" is not a port number; accepted: ${zero ? '0' : '1'}-65535 (as REMOTE, LOCAL:REMOTE or :REMOTE)`,
    );
  return n;
}

/** `REMOTE`, `LOCAL:REMOTE` or `:REMOTE` (any free local port), as kubectl port-forward reads them. */
export function parsePortSpec(spec: string): PortSpec {
  const parts = spec.split(':');
  if (parts.length > 2)
    throw new Error(`port "${spec}": too many ":"; accepted: REMOTE, LOCAL:REMOTE or :REMOTE`);
  if (parts.length === 1) {
    const remote = port(parts[0]!, 'guest', spec, false);
    return { local: remote, remote };
  }
  const local = parts[0] === '' ? 0 : port(parts[0]!, 'local', spec, true);
  return { local, remote: port(parts[1]!, 'guest', spec, false) };
}

/** Every spec, checked; `--stdio` carries one connection, so it takes exactly one guest port. */
export function parsePortSpecs(specs: readonly string[], stdio: boolean): PortSpec[] {
  if (specs.length === 0) throw new Error('name at least one port: [LOCAL:]REMOTE');
  const parsed = specs.map(parsePortSpec);
  if (stdio && parsed.length !== 1)
    throw new Error(`--stdio carries one connection: name one port, not ${parsed.length}`);
  const seen = new Set<number>();
  for (const p of parsed) {
    if (p.local !== 0 && seen.has(p.local)) throw new Error(`local port ${p.local} is named twice`);
    seen.add(p.local);
  }
  return parsed;
}

/** `[user@]VM` -> the user (if any) and the VM's name. */
/**
 * The command to run in the guest: the positionals yargs gave, else what follows the first `--` on
 * the command line (yargs stops there and leaves those words out of the positionals).
 */
export function remoteCommand(positional: readonly unknown[], raw: readonly string[]): string[] {
  if (positional.length) return positional.map(String);
  const at = raw.indexOf('--');
  return at < 0 ? [] : raw.slice(at + 1);
}

export function parseSshTarget(target: string): { user?: string; name: string } {
  const at = target.lastIndexOf('@');
  const user = at >= 0 ? target.slice(0, at) : undefined;
  const name = at >= 0 ? target.slice(at + 1) : target;
  if (user === '') throw new Error(`"${target}": no user before "@"; accepted: [USER@]VM`);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    throw new Error(
      `"${target}": "${name}" is not a VM name (lower-case letters, digits, - and .); accepted: [USER@]VM`,
    );
  return user === undefined ? { name } : { user, name };
}

/** Quotes a word for the shell ssh runs the ProxyCommand with, and doubles `%` (ssh's tokens). */
export function proxyWord(word: string): string {
  const quoted = /^[A-Za-z0-9_./:=@+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, '%%');
}

/** What `kubectl vm ssh` was asked, with the defaults already decided. */
export interface SshPlan {
  /** This CLI as a command line (node, its flags, the script), for the ProxyCommand. */
  self: readonly string[];
  /** The kubectl-style flags to pass on to the ProxyCommand. */
  cluster: { kubeconfig?: string; context?: string };
  namespace: string;
  name: string;
  /** The VM's uid: each VM (not each name) has its own host key entry. */
  uid: string;
  user?: string;
  port: number;
  identity?: string;
  knownHosts: string;
  /** The remote command, if any: after `--`. */
  command: readonly string[];
}

/**
 * The arguments of the system `ssh`. Host keys: a VM's key is made by its guest on first boot and
 * published nowhere, so it cannot be known beforehand: the first one is accepted and recorded
 * (`StrictHostKeyChecking=accept-new`; the way there is the API server's authenticated TLS to
 * this very VMI), and a later different key is refused as ssh refuses it for any host. Every VM
 * is reached at the same ProxyCommand, so `HostKeyAlias` names the VM (namespace, name, uid: a
 * VM deleted and made again under the same name is a new host, not an attack), and the keys go
 * to a file of their own (`knownHosts`), apart from the user's real hosts.
 */
export function sshArgs(p: SshPlan): string[] {
  const proxy = [
    ...p.self,
    'port-forward',
    '--stdio',
    ...(p.cluster.kubeconfig ? ['--kubeconfig', p.cluster.kubeconfig] : []),
    ...(p.cluster.context ? ['--context', p.cluster.context] : []),
    '-n',
    p.namespace,
    p.name,
    String(p.port),
  ];
  return [
    '-o',
    `ProxyCommand=${proxy.map(proxyWord).join(' ')}`,
    '-o',
    `HostKeyAlias=${p.name}.${p.namespace}.${p.uid}.vm`,
    '-o',
    'StrictHostKeyChecking=accept-new',
    '-o',
    `UserKnownHostsFile=${p.knownHosts}`,
    ...(p.identity ? ['-i', p.identity, '-o', 'IdentitiesOnly=yes'] : []),
    ...(p.user ? ['-l', p.user] : []),
    '-p',
    String(p.port),
    // `--` ends ssh's options: the destination and the command after it are taken as they are.
    '--',
    `${p.name}.${p.namespace}`,
    ...p.command,
  ];
}

/**
 * Where `kubectl vm ssh` finds a key and keeps host keys when not told (pure). A directory `ssh`
 * beside the kubeconfig in use is that cluster's (the sandbox makes one: its key pair, whose
 * public half its Debian VM's cloud-init installs): its `id_ed25519` is the default key and its
 * `known_hosts` the host keys. Otherwise ssh picks the key as it always does (agent, ~/.ssh/id_*)
 * and host keys go to ~/.ssh/vmplane_known_hosts.
 */
export function sshDefaults(o: {
  kubeconfigFlag?: string;
  kubeconfigEnv?: string;
  home: string;
  exists: (path: string) => boolean;
}): { identity?: string; knownHosts: string } {
  const kubeconfig =
    o.kubeconfigFlag ??
    o.kubeconfigEnv?.split(':').find((p) => p !== '') ??
    `${o.home}/.kube/config`;
  const dir = `${kubeconfig.replace(/\/?[^/]*$/, '') || '.'}/ssh`;
  if (o.exists(dir))
    return {
      ...(o.exists(`${dir}/id_ed25519`) ? { identity: `${dir}/id_ed25519` } : {}),
      knownHosts: `${dir}/known_hosts`,
    };
  return { knownHosts: `${o.home}/.ssh/vmplane_known_hosts` };
}
