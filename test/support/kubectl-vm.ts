// `kubectl vm` as a user runs it, against the test control plane (or the kubeconfig given).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Node's arguments for `kubectl vm ARGS` against the kubeconfig. */
export const kvmArgv = (args: string[], kubeconfig: string): string[] => [
  '--import',
  'tsx',
  join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts'),
  '--kubeconfig',
  kubeconfig,
  ...args,
];

export function kvm(args: string[], kubeconfig = inject('kubeconfig')): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      kvmArgv(args, kubeconfig),
      { cwd: REPO_ROOT },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
