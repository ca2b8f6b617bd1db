// The offline policy commands, shared by `vmplane policy` and `kubectl vm policy`.
import { readFileSync } from 'node:fs';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { parseManifests } from '../../../kube/src/manifests.ts';
import { CEL_DIR_ENV, celSchemas, KubernetesCel } from '../../../policy/src/index.ts';
import { ensureKubernetesCel } from '../../../policy/src/kcel-build.ts';
import { evaluateVm, formatTable, loadWorld, runPolicyTests } from './offline.ts';

/**
 * The Kubernetes CEL engine in this process: from $VMPLANE_CEL_DIR, else built (once, with Go) into
 * the cache; progress goes to stderr so output stays clean.
 */
export async function offlineEngine(): Promise<KubernetesCel> {
  const dir = process.env[CEL_DIR_ENV] ?? (await ensureKubernetesCel((l) => console.error(l)));
  return KubernetesCel.load(dir, celSchemas());
}

/** `k=v,k2=v2` -> {k: v, k2: v2}. */
export function parseLabels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (s ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i < 1) throw new Error(`--namespace-labels: "${pair}" is not KEY=VALUE`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

export async function policyTest(dir: string): Promise<number> {
  const world = await loadWorld(await offlineEngine(), [dir]);
  const { rows, problems } = await runPolicyTests(world);
  const table = formatTable(
    ['RESOURCE', 'POLICY', 'RULE', 'EXPECTED', 'GOT', 'OK', 'MESSAGE'],
    rows.map((r) => [
      r.resource,
      r.policy,
      r.rule,
      r.expected,
      r.got,
      r.ok ? 'ok' : 'MISMATCH',
      r.ok ? '' : r.message,
    ]),
  );
  console.log(table);
  for (const p of problems) console.error(`error: ${p}`);
  for (const w of world.warnings) console.error(`warning: ${w}`);
  const bad = rows.filter((r) => !r.ok).length;
  console.log(
    `\n${rows.length - bad} of ${rows.length} expectations met${problems.length ? `, ${problems.length} problems` : ''}`,
  );
  return bad || problems.length ? 1 : 0;
}

export async function policyEval(
  file: string,
  policyDirs: string[],
  namespace: string | undefined,
  labels: Record<string, string>,
): Promise<number> {
  const vms = parseManifests(readFileSync(file, 'utf8'), file).filter(
    (m) => m.kind === 'VirtualMachine',
  ) as unknown as VirtualMachine[];
  if (vms.length === 0) {
    console.error(`error: ${file} holds no VirtualMachine`);
    return 2;
  }
  for (const vm of vms) if (namespace) vm.metadata.namespace = namespace;
  const nsNames = [...new Set(vms.map((v) => v.metadata.namespace ?? 'default'))];
  const world = await loadWorld(await offlineEngine(), policyDirs, {
    namespaceLabels: Object.fromEntries(nsNames.map((n) => [n, labels])),
  });
  world.data.vms = [...(world.data.vms ?? []), ...vms];
  for (const p of world.problems) console.error(`error: ${p}`);
  for (const w of world.warnings) console.error(`warning: ${w}`);
  let violations = 0;
  for (const vm of vms) {
    const results = await evaluateVm(vm, world);
    console.log(`${vm.metadata.namespace ?? 'default'}/${vm.metadata.name}:`);
    console.log(
      formatTable(
        ['POLICY', 'RULE', 'RESULT', 'ACTIONS', 'MESSAGE'],
        results.map((r) => [r.policy, r.rule, r.result, r.actions.join(','), r.message]),
      ),
    );
    violations += results.filter(
      (r) => r.result === 'fail' || r.result === 'error' || r.result === 'warn',
    ).length;
  }
  return world.problems.length ? 2 : violations ? 1 : 0;
}
