// The offline policy commands, shared by `vmplane policy` and `kubectl vm policy`.
import { readFileSync } from 'node:fs';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { parseManifests } from '../../../kube/src/manifests.ts';
import { evaluateVm, formatTable, loadWorld, runPolicyTests } from './offline.ts';

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

export function policyTest(dir: string): number {
  const world = loadWorld([dir]);
  const { rows, problems } = runPolicyTests(world);
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
  const bad = rows.filter((r) => !r.ok).length;
  console.log(
    `\n${rows.length - bad} of ${rows.length} expectations met${problems.length ? `, ${problems.length} problems` : ''}`,
  );
  return bad || problems.length ? 1 : 0;
}

export function policyEval(
  file: string,
  policyDirs: string[],
  namespace: string | undefined,
  labels: Record<string, string>,
): number {
  const vms = parseManifests(readFileSync(file, 'utf8'), file).filter(
    (m) => m.kind === 'VirtualMachine',
  ) as unknown as VirtualMachine[];
  if (vms.length === 0) {
    console.error(`error: ${file} holds no VirtualMachine`);
    return 2;
  }
  for (const vm of vms) if (namespace) vm.metadata.namespace = namespace;
  const nsNames = [...new Set(vms.map((v) => v.metadata.namespace ?? 'default'))];
  const world = loadWorld(policyDirs, {
    namespaceLabels: Object.fromEntries(nsNames.map((n) => [n, labels])),
  });
  world.data.vms = [...(world.data.vms ?? []), ...vms];
  for (const p of world.problems) console.error(`error: ${p}`);
  let violations = 0;
  for (const vm of vms) {
    const results = evaluateVm(vm, world);
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
