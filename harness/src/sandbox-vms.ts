// The sandbox's example VMs: the images and storage the engine needs for them (the Debian image,
// the examples' provisioners), the examples as applied (debian-1 stopped without Debian), and what
// `npm start` says about a VM once the rest is up: when it runs and where (the address the engine
// saw the guest take), or why it does not run yet.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  cachedDebianImage,
  ensureDebianImage,
  type DebianImage,
} from '../../engine/src/images/debian.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
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

/** The example VM that boots the Debian image (cloud-init, the guest agent, OpenSSH). */
export const DEBIAN_VM = { namespace: 'demo', name: 'debian-1' };

type Manifest = { kind?: string; metadata?: { name?: string; namespace?: string }; spec?: object };

/** The public key debian-1's cloud-init carries in examples/50-vms.yaml, a placeholder. */
export const EXAMPLE_SSH_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnly demo@example.com';

const isDebianVm = (o: Manifest): boolean =>
  o.kind === 'VirtualMachine' &&
  o.metadata?.name === DEBIAN_VM.name &&
  o.metadata?.namespace === DEBIAN_VM.namespace;

/**
 * The examples as the sandbox applies them. Without Debian (`--no-debian`: a slow machine, or one
 * where the image cannot be built), debian-1 is made stopped: it is there to look at and to start
 * later, and nothing boots or builds Debian meanwhile. With `sshKey` (the sandbox's own public
 * key), debian-1's cloud-init authorizes it for the user `demo` in place of the placeholder, so
 * `kubectl vm ssh demo@debian-1` gets in. Pure; returns copies where it changes one.
 */
export function sandboxExamples<T extends Manifest>(
  objects: T[],
  debian: boolean,
  sshKey?: string,
): T[] {
  if (debian && !sshKey) return objects;
  return objects.map((o) => {
    if (!isDebianVm(o)) return o;
    const spec = o.spec as { bootstrap?: { cloudInit?: { userData?: string } } };
    const userData = spec.bootstrap?.cloudInit?.userData;
    const keyed =
      sshKey && userData?.includes(EXAMPLE_SSH_KEY)
        ? {
            bootstrap: {
              ...spec.bootstrap,
              cloudInit: {
                ...spec.bootstrap?.cloudInit,
                userData: userData.replace(EXAMPLE_SSH_KEY, sshKey.trim()),
              },
            },
          }
        : {};
    return { ...o, spec: { ...o.spec, ...keyed, ...(debian ? {} : { powerState: 'PoweredOff' }) } };
  });
}

/**
 * The sandbox's ssh key pair, `<stateDir>/ssh/id_ed25519`, made with ssh-keygen on first use and
 * kept across restarts; `kubectl vm ssh` finds it beside the sandbox's kubeconfig. Resolves with
 * the public key, or undefined (with one line saying why) where ssh-keygen cannot make it.
 */
export async function sandboxSshKey(
  stateDir: string,
  log: (l: string) => void,
): Promise<string | undefined> {
  const dir = join(stateDir, 'ssh');
  const key = join(dir, 'id_ed25519');
  if (!existsSync(`${key}.pub`)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const made = await new Promise<string>((resolve) => {
      const child = spawn(
        'ssh-keygen',
        ['-q', '-t', 'ed25519', '-N', '', '-C', 'vmplane-sandbox', '-f', key],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', (e: NodeJS.ErrnoException) =>
        resolve(
          e.code === 'ENOENT' ? 'ssh-keygen is not installed (package openssh-client)' : e.message,
        ),
      );
      child.on('exit', (code) => resolve(code === 0 ? '' : `ssh-keygen failed: ${err.trim()}`));
    });
    if (made) {
      log(`debian-1 gets no ssh key of the sandbox (kubectl vm ssh will not log in): ${made}`);
      return undefined;
    }
  }
  return readFileSync(`${key}.pub`, 'utf8').trim();
}

/**
 * The provisioners of the examples' StorageClasses (examples/30-storage.yaml), which the local
 * engine plays in the sandbox: their claims get volumes, files under .vmplane/engine/volumes.
 */
export const SANDBOX_PROVISIONERS = ['rancher.io/local-path', 'block.csi.example.com'];

/**
 * The Debian image for the library: built on first use when Debian is wanted (minutes; a line
 * says so), else taken only if already cached. Where it cannot be built, one line says why and
 * the sandbox goes on with the tiny Linux.
 */
export async function sandboxDebianImage(
  wanted: boolean,
  log: (l: string) => void,
): Promise<DebianImage | undefined> {
  if (!wanted) return cachedDebianImage(cacheRoot());
  return ensureDebianImage(cacheRoot(), log).catch((e: Error) => {
    log(`the Debian example will not boot (only the tiny Linux does): ${e.message}`);
    return undefined;
  });
}

type DebianStatus = {
  status?: {
    printableStatus?: string;
    guestOS?: { prettyName?: string };
    conditions?: { type: string; status: string }[];
  };
};

/** What the sandbox says of debian-1 at each step it watches for (pure). */
export function debianLines(
  step: 'running' | 'agent' | 'late',
  seconds: number,
  vm: DebianStatus = {},
): string[] {
  const key = `${DEBIAN_VM.namespace}/${DEBIAN_VM.name}`;
  const ns = DEBIAN_VM.namespace;
  if (step === 'running')
    return [
      `VM ${key} Running after ${seconds} s (Debian 12 boots; cloud-init and its agent follow)`,
    ];
  if (step === 'late')
    return [
      `VM ${key}: no guest agent after ${seconds} s (${vm.status?.printableStatus ?? 'no status'}); kubectl vm get ${DEBIAN_VM.name} -n ${ns} says why`,
    ];
  return [
    `VM ${key}: its guest agent answered after ${seconds} s: ${vm.status?.guestOS?.prettyName ?? 'an OS it did not name'}; try:`,
    `  kubectl vm get ${DEBIAN_VM.name} -n ${ns}        # the guest OS and kernel its agent reports`,
    `  kubectl vm console ${DEBIAN_VM.name} -n ${ns}    # cloud-init's hello line, a login prompt`,
    `  kubectl vm ssh demo@${DEBIAN_VM.name} -n ${ns}   # a shell, with the key the sandbox made (.vmplane/ssh)`,
  ];
}

/**
 * Watches debian-1 after the sandbox said ready (Debian takes a minute or two to boot under
 * emulation, so nobody waits for it): says when it runs and when its guest agent answers, or that
 * it did not within 15 minutes. Resolves when done; `stop()` ends it early.
 */
export function watchDebianVm(
  kc: KubeConfig,
  log: (l: string) => void,
): { done: Promise<void>; stop: () => void } {
  const rest = new KubeRest(kc);
  const path = `/apis/vmplane.io/v1alpha1/namespaces/${DEBIAN_VM.namespace}/virtualmachines/${DEBIAN_VM.name}`;
  const started = Date.now();
  let stopped = false;
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  const read = async (): Promise<DebianStatus | undefined> =>
    (await rest.request<DebianStatus>('GET', path).catch(() => undefined))?.body;
  const poll = async (ok: (vm: DebianStatus) => boolean): Promise<DebianStatus | undefined> => {
    while (!stopped && Date.now() - started < 15 * 60_000) {
      const vm = await read();
      if (vm && ok(vm)) return vm;
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
    return undefined;
  };
  const done = (async () => {
    const running = await poll((v) => v.status?.printableStatus === 'Running');
    if (stopped) return;
    if (running) for (const l of debianLines('running', seconds())) log(l);
    // The agent's OS comes with its next answers, a moment after AgentConnected: wait for it
    // (20 s at most once the agent is heard).
    let heardAt = 0;
    const agent = await poll((v) => {
      if (!v.status?.conditions?.some((c) => c.type === 'AgentConnected' && c.status === 'True'))
        return false;
      heardAt ||= Date.now();
      return !!v.status.guestOS?.prettyName || Date.now() - heardAt > 20_000;
    });
    if (stopped) return;
    for (const l of debianLines(agent ? 'agent' : 'late', seconds(), agent ?? (await read())))
      log(l);
  })().finally(() => rest.close());
  return { done, stop: () => (stopped = true) };
}
