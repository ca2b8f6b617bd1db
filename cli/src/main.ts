// The vmplane command line. Commands arrive with their issues: the sandbox today; policy tests
// and the kubectl plugin next.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readFileSync } from 'node:fs';
import { parseManifests } from './manifests.ts';
import { evaluateVm, formatTable, loadWorld, runPolicyTests } from './policy/offline.ts';
import { runSandbox } from './sandbox.ts';
import type { VirtualMachine } from '../../api/generated/types.ts';

/** `k=v,k2=v2` -> {k: v, k2: v2}. */
function parseLabels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (s ?? '').split(',').filter(Boolean)) {
    const i = pair.indexOf('=');
    if (i < 1) throw new Error(`--namespace-labels: "${pair}" is not KEY=VALUE`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

function policyTest(dir: string): number {
  const world = loadWorld([dir]);
  const { rows, problems } = runPolicyTests(world);
  const table = formatTable(
    ['RESOURCE', 'POLICY', 'RULE', 'EXPECTED', 'GOT', 'OK', 'MESSAGE'],
    rows.map((r) => [r.resource, r.policy, r.rule, r.expected, r.got, r.ok ? 'ok' : 'MISMATCH', r.ok ? '' : r.message]),
  );
  console.log(table);
  for (const p of problems) console.error(`error: ${p}`);
  const bad = rows.filter((r) => !r.ok).length;
  console.log(`\n${rows.length - bad} of ${rows.length} expectations met${problems.length ? `, ${problems.length} problems` : ''}`);
  return bad || problems.length ? 1 : 0;
}

function policyEval(file: string, policyDirs: string[], namespace: string | undefined, labels: Record<string, string>): number {
  const vms = parseManifests(readFileSync(file, 'utf8'), file).filter((m) => m.kind === 'VirtualMachine') as unknown as VirtualMachine[];
  if (vms.length === 0) {
    console.error(`error: ${file} holds no VirtualMachine`);
    return 2;
  }
  for (const vm of vms) if (namespace) vm.metadata.namespace = namespace;
  const nsNames = [...new Set(vms.map((v) => v.metadata.namespace ?? 'default'))];
  const world = loadWorld(policyDirs, { namespaceLabels: Object.fromEntries(nsNames.map((n) => [n, labels])) });
  world.data.vms = [...(world.data.vms ?? []), ...vms];
  for (const p of world.problems) console.error(`error: ${p}`);
  let violations = 0;
  for (const vm of vms) {
    const results = evaluateVm(vm, world);
    console.log(`${vm.metadata.namespace ?? 'default'}/${vm.metadata.name}:`);
    console.log(formatTable(['POLICY', 'RULE', 'RESULT', 'ACTIONS', 'MESSAGE'], results.map((r) => [r.policy, r.rule, r.result, r.actions.join(','), r.message])));
    violations += results.filter((r) => r.result === 'fail' || r.result === 'error' || r.result === 'warn').length;
  }
  return world.problems.length ? 2 : violations ? 1 : 0;
}

await yargs(hideBin(process.argv))
  .scriptName('vmplane')
  .command(
    'sandbox',
    'Start a local control plane with vmplane installed and the examples applied (no cluster needed).',
    (y) =>
      y
        .option('examples', { type: 'boolean', default: true, describe: 'apply the manifests in examples/' })
        .option('state-dir', { type: 'string', describe: 'where the kubeconfig goes (default: .vmplane in the repository)' })
        .example('$0 sandbox', 'start it; Ctrl-C stops everything'),
    async (argv) => {
      try {
        await runSandbox({ examples: argv.examples, ...(argv['state-dir'] ? { stateDir: argv['state-dir'] } : {}) });
      } catch (e) {
        console.error(`vmplane sandbox: ${(e as Error).message}`);
        process.exit(1);
      }
    },
  )
  .command('policy', 'Offline tools for policy teams: test and evaluate VirtualMachinePolicies without a cluster.', (y) =>
    y
      .command(
        'test <dir>',
        'Check the expected results of a folder (a PolicyTest file beside policies, exceptions, classes, images and VMs). Exits 1 on any mismatch.',
        (c) => c.positional('dir', { type: 'string', demandOption: true, describe: 'folder with policies, fixtures and a PolicyTest file' }).example('$0 policy test examples/policies', 'run the ready-made library\'s tests'),
        (argv) => process.exit(policyTest(String(argv.dir))),
      )
      .command(
        'eval',
        'Evaluate VMs from a file against policies and print each rule\'s result. Exits 1 when a rule fails or warns.',
        (c) =>
          c
            .option('f', { alias: 'filename', type: 'string', demandOption: true, describe: 'YAML file with one or more VirtualMachines' })
            .option('policies', { type: 'string', array: true, demandOption: true, describe: 'folders or files with policies (and classes, images, exceptions)' })
            .option('namespace', { alias: 'n', type: 'string', describe: 'evaluate as if the VMs were in this namespace' })
            .option('namespace-labels', { type: 'string', describe: 'labels of that namespace, KEY=VALUE,KEY=VALUE' })
            .example('$0 policy eval -f vm.yaml --policies examples/policies --namespace-labels vmplane.io/tier=production', 'how would production treat this VM?'),
        (argv) => {
          try {
            process.exit(policyEval(argv.f, argv.policies, argv.namespace, parseLabels(argv['namespace-labels'])));
          } catch (e) {
            console.error(`error: ${(e as Error).message}`);
            process.exit(2);
          }
        },
      )
      .demandCommand(1, 'policy test or policy eval'),
  )
  .demandCommand(1, 'name a command; --help lists them')
  .strict()
  .help()
  .parseAsync();
