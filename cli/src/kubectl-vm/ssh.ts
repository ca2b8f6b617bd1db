// `kubectl vm ssh [user@]VM [-- command...]`: the system's OpenSSH client, reaching the guest's
// sshd through `kubectl vm port-forward --stdio` as its ProxyCommand (as virtctl ssh's local client
// does), so it needs no route to the VM: the same on a cluster and in the sandbox.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { Argv } from 'yargs';
import { clusterContext, clusterOptions } from './cluster.ts';
import { parseSshTarget, remoteCommand, sshArgs, sshDefaults } from './forward-args.ts';
import { getVm, readyHint } from './vm.ts';

/** This CLI as a command line, for the ProxyCommand: node, its flags (tsx), the script. */
export const selfCommand = (): string[] => [
  process.execPath,
  ...process.execArgv,
  process.argv[1] ?? '',
];

/** What to say when the ssh program could not be started. */
export function sshSpawnError(e: NodeJS.ErrnoException): string {
  return e.code === 'ENOENT'
    ? 'ssh is not installed: kubectl vm ssh runs the OpenSSH client; install the package openssh-client (apt-get install openssh-client)'
    : `could not run ssh: ${e.message}`;
}

/** Runs ssh with `args`, the terminal passed through; resolves with its exit code. */
export function runSsh(args: readonly string[], program = 'ssh'): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: 'inherit' });
    child.on('error', (e) => {
      process.stderr.write(`error: ${sshSpawnError(e)}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 255 : 0)));
  });
}

export function registerSshCommand(program: Argv): void {
  program.command(
    'ssh <target> [command..]',
    'Open ssh to the VM ([USER@]VM), through the API server; after -- a command to run there.',
    (command) =>
      clusterOptions(command)
        .positional('target', { type: 'string', demandOption: true, describe: '[USER@]VM' })
        .positional('command', { type: 'string', array: true, default: [] as string[] })
        .option('identity-file', {
          alias: 'i',
          type: 'string',
          describe:
            "the private key (default: ssh/id_ed25519 beside the kubeconfig, when there, else ssh's own)",
        })
        .option('port', {
          alias: 'p',
          type: 'number',
          default: 22,
          describe: "the guest's ssh port",
        })
        .option('known-hosts', {
          type: 'string',
          describe:
            'where host keys are kept (default: ssh/known_hosts beside the kubeconfig, else ~/.ssh/vmplane_known_hosts)',
        })
        .example('$0 ssh demo@debian-1 -n demo', 'a shell in the guest')
        .example('$0 ssh demo@debian-1 -n demo -- uname -a', 'run one command'),
    async (argv) => {
      let target: { user?: string; name: string };
      try {
        target = parseSshTarget(argv.target);
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        process.exit(1);
      }
      const ctx = clusterContext(argv);
      const vm = await getVm(ctx, target.name);
      ctx.rest.close();
      const status = vm.status?.printableStatus;
      if (status !== 'Running') {
        process.stderr.write(
          `error: virtualmachine/${target.name} is not running (status: ${status ?? 'Pending'}${readyHint(vm)}); start it with: kubectl vm start ${target.name} -n ${ctx.namespace} --wait\n`,
        );
        process.exit(1);
      }
      const defaults = sshDefaults({
        ...(argv.kubeconfig ? { kubeconfigFlag: argv.kubeconfig } : {}),
        ...(process.env.KUBECONFIG ? { kubeconfigEnv: process.env.KUBECONFIG } : {}),
        home: homedir(),
        exists: existsSync,
      });
      const knownHosts = argv['known-hosts'] ?? defaults.knownHosts;
      mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 });
      const identity = argv['identity-file'] ?? defaults.identity;
      const args = sshArgs({
        self: selfCommand(),
        cluster: {
          ...(argv.kubeconfig ? { kubeconfig: argv.kubeconfig } : {}),
          ...(argv.context ? { context: argv.context } : {}),
        },
        namespace: ctx.namespace,
        name: target.name,
        uid: vm.metadata.uid ?? 'no-uid',
        ...(target.user ? { user: target.user } : {}),
        port: argv.port,
        ...(identity ? { identity } : {}),
        knownHosts,
        command: remoteCommand(argv.command ?? [], process.argv),
      });
      process.exit(await runSsh(args));
    },
  );
}
