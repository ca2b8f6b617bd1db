// The vmplane command line for policy teams: test and evaluate policies offline. (The sandbox is
// the development harness's: `npm start`; the cluster commands are `kubectl vm`.)
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { parseLabels, policyEval, policyTest } from './policy/commands.ts';

await yargs(hideBin(process.argv))
  .scriptName('vmplane')
  .command(
    'policy',
    'Offline tools for policy teams: test and evaluate VirtualMachinePolicies without a cluster.',
    (y) =>
      y
        .command(
          'test <dir>',
          'Check the expected results of a folder (a PolicyTest file beside policies, exceptions, classes, images and VMs). Exits 1 on any mismatch.',
          (c) =>
            c
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
          (c) =>
            c
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
  )
  .demandCommand(1, 'name a command; --help lists them')
  .strict()
  .help()
  .parseAsync();
