// The offline policy commands, `policy test` and `policy eval`, defined once here for both
// `vmplane policy` and `kubectl vm policy`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv } from 'yargs';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { parseManifests } from '../../../kube/src/manifests.ts';
import { CEL_DIR_ENV, celSchemas, KubernetesCel } from '../../../policy/src/index.ts';
import { ensureKubernetesCel } from '../../../policy/src/kcel-build.ts';
import { evaluateVm, formatTable, loadWorld, runPolicyTests, whereRulesRun } from './offline.ts';

/** The folder beside the krew archive's kubectl-vm that holds the CEL engine it was packed with. */
export const BUNDLED_CEL_DIR = 'kcel';

/** The CEL engine packed beside this program (the krew archive), if it is there. */
function bundledCel(): string | undefined {
  const dir = join(dirname(fileURLToPath(import.meta.url)), BUNDLED_CEL_DIR);
  return existsSync(join(dir, 'kcel.wasm')) ? dir : undefined;
}

/**
 * The Kubernetes CEL engine in this process: from $VMPLANE_CEL_DIR, else the one packed beside
 * the program (krew), else built (once, with Go) into the cache; progress goes to stderr so output
 * stays clean.
 */
export async function offlineEngine(): Promise<KubernetesCel> {
  const dir =
    process.env[CEL_DIR_ENV] ??
    bundledCel() ??
    (await ensureKubernetesCel((l) => console.error(l)));
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
  const where = whereRulesRun(world);
  if (where.length)
    console.log(
      `\nWhere each rule runs (native enforcement on):\n${formatTable(
        ['POLICY', 'RULE', 'RUNS IN'],
        where.map((w) => [w.policy, w.rule, w.runsIn]),
      )}`,
    );
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

/** Registers `policy test` and `policy eval` on a program; the examples name it ($0). */
export function registerPolicyCommands(program: Argv): void {
  program.command(
    'policy',
    'Offline tools for policy teams: test and evaluate VirtualMachinePolicies without a cluster.',
    (policy) =>
      policy
        .command(
          'test <dir>',
          'Check the expected results of a folder (a PolicyTest file beside policies, exceptions, classes, images and VMs). Exits 1 on any mismatch.',
          (command) =>
            command
              .positional('dir', {
                type: 'string',
                demandOption: true,
                describe: 'folder with policies, fixtures and a PolicyTest file',
              })
              .example('$0 policy test examples/policies', "run the ready-made library's tests"),
          async (argv) => process.exit(await policyTest(String(argv.dir))),
        )
        .command(
          'eval',
          "Evaluate VMs from a file against policies and print each rule's result. Exits 1 when a rule fails or warns.",
          (command) =>
            command
              .option('f', {
                alias: 'filename',
                type: 'string',
                demandOption: true,
                describe: 'YAML file with one or more VirtualMachines',
              })
              .option('policies', {
                type: 'string',
                array: true,
                demandOption: true,
                describe: 'folders or files with policies (and classes, images, exceptions)',
              })
              .option('namespace', {
                alias: 'n',
                type: 'string',
                describe: 'evaluate as if the VMs were in this namespace',
              })
              .option('namespace-labels', {
                type: 'string',
                describe: 'labels of that namespace, KEY=VALUE,KEY=VALUE',
              })
              .example(
                '$0 policy eval -f vm.yaml --policies examples/policies --namespace-labels vmplane.io/tier=production',
                'how would production treat this VM?',
              ),
          async (argv) => {
            try {
              process.exit(
                await policyEval(
                  argv.f,
                  argv.policies,
                  argv.namespace,
                  parseLabels(argv['namespace-labels']),
                ),
              );
            } catch (e) {
              console.error(`error: ${(e as Error).message}`);
              process.exit(2);
            }
          },
        )
        .demandCommand(1, 'policy test or policy eval'),
  );
}
