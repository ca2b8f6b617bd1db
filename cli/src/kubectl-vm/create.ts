// `kubectl vm create`: a VM from flags (class, image, disks, cloud-init), sent to the API server,
// which answers with every policy warning (printed) or the denial (the error); --dry-run=server
// runs the checks and creates nothing.
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { parseLabels } from '../policy/commands.ts';
import { buildVm, parseWarnings } from './actions.ts';
import { clusterOptions, VMPLANE, withCluster } from './cluster.ts';
import { print } from './show.ts';

interface CreateFlags {
  name: string;
  class?: string;
  image?: string;
  'image-kind'?: 'VirtualMachineImage' | 'ClusterVirtualMachineImage';
  disk?: string[];
  'cloud-init'?: string;
  label?: string;
  'powered-off': boolean;
}

/** The VM the flags describe; a flag that does not parse is an error, exit 2. */
function vmFromFlags(argv: CreateFlags, namespace: string): VirtualMachine {
  try {
    return buildVm({
      name: argv.name,
      namespace,
      ...(argv.class ? { className: argv.class } : {}),
      ...(argv.image ? { image: argv.image } : {}),
      ...(argv['image-kind'] ? { imageKind: argv['image-kind'] } : {}),
      ...(argv.disk ? { disks: argv.disk } : {}),
      ...(argv['cloud-init'] ? { cloudInit: readFileSync(argv['cloud-init'], 'utf8') } : {}),
      ...(argv['powered-off'] ? { powerState: 'PoweredOff' as const } : {}),
      labels: parseLabels(argv.label),
    });
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

const createOptions = (command: Argv) =>
  clusterOptions(command)
    .positional('name', { type: 'string', demandOption: true })
    .option('class', {
      type: 'string',
      describe: 'the VirtualMachineClass (default: the namespace default)',
    })
    .option('image', { type: 'string', describe: 'the image to boot from' })
    .option('image-kind', {
      choices: ['VirtualMachineImage', 'ClusterVirtualMachineImage'] as const,
      describe: 'where the image lives (default: namespace first, then the cluster library)',
    })
    .option('disk', {
      type: 'string',
      array: true,
      describe:
        'a disk: size=20Gi[,storageClass=x][,accessMode=M][,volumeMode=M][,name=N], or existing=DISK[,name=N]',
    })
    .option('cloud-init', { type: 'string', describe: 'a file with cloud-init user data' })
    .option('label', { type: 'string', describe: 'labels, KEY=VALUE,KEY=VALUE' })
    .option('powered-off', {
      type: 'boolean',
      default: false,
      describe: 'create it powered off',
    })
    .option('dry-run', {
      choices: ['none', 'server'] as const,
      default: 'none' as const,
      describe: 'server: run every admission check and policy, create nothing',
    })
    .option('output', {
      alias: 'o',
      choices: ['yaml', 'json'] as const,
      describe: 'print the VM as admitted (defaults filled in)',
    })
    .example(
      '$0 create web-2 --class best-effort-small --image ubuntu-24.04 --disk size=20Gi --dry-run=server',
      'see what policies say, create nothing',
    );

export function registerCreateCommand(program: Argv): void {
  program.command(
    'create <name>',
    'Create a VM from a class and an image; shows every policy denial and warning.',
    createOptions,
    async (argv) =>
      withCluster(
        argv,
        (ctx) => ({ verb: 'create', resource: 'virtualmachines', namespace: ctx.namespace }),
        async (ctx) => {
          const vm = vmFromFlags(argv, ctx.namespace);
          const dry = argv['dry-run'] === 'server';
          const created = await ctx.rest.request<VirtualMachine>(
            'POST',
            `${VMPLANE}/namespaces/${ctx.namespace}/virtualmachines${dry ? '?dryRun=All' : ''}`,
            { body: vm },
          );
          for (const warning of parseWarnings(created.headers.warning))
            process.stderr.write(`Warning: ${warning}\n`);
          if (argv.output) print(created.body, argv.output, () => '');
          else
            process.stdout.write(
              `virtualmachine/${argv.name} created${dry ? ' (server dry run)' : ''}\n`,
            );
        },
      ),
  );
}
