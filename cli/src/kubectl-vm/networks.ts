// `kubectl vm networks`: the Networks (vmplane.io, cluster-scoped) with their type, VLAN, CIDR,
// how much of a static pool is allocated and free, and which namespaces may use each.
import type { Argv } from 'yargs';
import { NETWORK_COLUMNS, networkRow, type NetworkView } from '../../../api/src/network-view.ts';
import { formatTable } from '../policy/offline.ts';
import { clusterOptions, VMPLANE, withCluster } from './cluster.ts';
import { age, print } from './show.ts';

/** The Networks as a table, sorted by name; a line saying there are none when there are none. */
export function networkTable(networks: NetworkView[]): string {
  if (!networks.length) return 'No Networks found (VMs use the pod network).';
  const sorted = [...networks].sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  return formatTable(
    ['NAME', ...NETWORK_COLUMNS, 'AGE'],
    sorted.map((n) => [n.metadata.name ?? '', ...networkRow(n), age(n.metadata.creationTimestamp)]),
  );
}

export function registerNetworkCommands(program: Argv): void {
  program.command(
    ['networks', 'nets'],
    'List the Networks: type, VLAN, CIDR, pool usage and which namespaces may use each.',
    (command) =>
      clusterOptions(command)
        .option('output', { alias: 'o', choices: ['yaml', 'json'] as const })
        .example('$0 networks', 'the networks VMs may be attached to, besides the pod network'),
    async (argv) => {
      await withCluster(
        argv,
        () => ({ verb: 'list', resource: 'networks.vmplane.io' }),
        async (ctx) => {
          const list = (
            await ctx.rest.request<{ items: NetworkView[] }>('GET', `${VMPLANE}/networks`)
          ).body;
          print(list, argv.output, () => networkTable(list.items));
        },
      );
    },
  );
}
