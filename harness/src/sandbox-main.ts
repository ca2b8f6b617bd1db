// `npm start`: the sandbox, a local control plane with vmplane installed, the examples applied and,
// where QEMU is installed, the local engine running their VMs. No cluster needed.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runSandbox } from './sandbox.ts';

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm start --')
  .usage(
    '$0 [options]\n\nStart a local control plane with vmplane installed and the examples applied (no cluster needed).',
  )
  .option('examples', {
    type: 'boolean',
    default: true,
    describe: 'apply the manifests in examples/',
  })
  .option('engine', {
    type: 'boolean',
    default: true,
    describe:
      'run VMs under QEMU with the local engine, when QEMU is installed (--no-engine: without)',
  })
  .option('debian', {
    type: 'boolean',
    default: true,
    describe:
      'boot the Debian example VM debian-1, building the Debian image on first use (--no-debian: debian-1 is made stopped, and only the tiny Linux boots)',
  })
  .option('state-dir', {
    type: 'string',
    describe: 'where the kubeconfig goes (default: .vmplane in the repository)',
  })
  .example('$0', 'start it; Ctrl-C stops everything')
  .strict()
  .help()
  .parseAsync();

try {
  await runSandbox({
    examples: argv.examples,
    engine: argv.engine,
    debian: argv.debian,
    ...(argv['state-dir'] ? { stateDir: argv['state-dir'] } : {}),
  });
} catch (e) {
  console.error(`vmplane sandbox: ${(e as Error).message}`);
  process.exit(1);
}
