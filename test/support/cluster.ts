// What integration tests use to reach the shared control plane.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CoreV1Api, KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { kubeConfigFrom } from '../../kube/src/client.ts';

const run = promisify(execFile);

export function kubeConfig(): KubeConfig {
  return kubeConfigFrom(inject('kubeconfig'));
}

export function objects(): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kubeConfig());
}

/** A fresh namespace for one test file, labelled as asked. */
export async function createNamespace(
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name, labels } } });
  return name;
}

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs the control plane's own kubectl against the test cluster. Never throws on exit codes. */
export async function kubectl(args: string[], input?: string): Promise<KubectlResult> {
  const argv = ['--kubeconfig', inject('kubeconfig'), ...args];
  if (input !== undefined) {
    return new Promise((resolve) => {
      const child = execFile(
        inject('kubectl'),
        argv,
        { maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
        },
      );
      child.stdin?.end(input);
    });
  }
  try {
    const { stdout, stderr } = await run(inject('kubectl'), argv, { maxBuffer: 16 << 20 });
    return { stdout, stderr, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: number };
    return {
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
      code: typeof err.code === 'number' ? err.code : 1,
    };
  }
}

/** Parses kubectl's table output by the header's column offsets (empty cells stay empty). */
export function parseTable(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [head = '', ...lines] = text.replace(/\n+$/, '').split('\n');
  const starts: number[] = [];
  const header: string[] = [];
  for (const m of head.matchAll(/\S+/g)) {
    starts.push(m.index ?? 0);
    header.push(m[0]);
  }
  const rows = lines.map((line) =>
    Object.fromEntries(
      header.map((h, i) => [
        h,
        line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim(),
      ]),
    ),
  );
  return { header, rows };
}
