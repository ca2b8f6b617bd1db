// The vmplane command line. Commands arrive with their issues: the sandbox today; policy tests
// and the kubectl plugin next.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runSandbox } from './sandbox.ts';

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
  .demandCommand(1, 'name a command; --help lists them')
  .strict()
  .help()
  .parseAsync();
