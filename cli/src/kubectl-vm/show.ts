// `kubectl vm list` and `kubectl vm get`: VMs as a table (kubectl's columns, more with -o wide) or
// as the objects themselves (-o yaml, -o json).
import { stringify } from 'yaml';
import type { Argv } from 'yargs';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { guestFacts, guestOSLabel } from '../../../api/src/guest.ts';
import { interfaceRows, type VmInterfacesView } from '../../../api/src/network-view.ts';
import { formatTable } from '../policy/offline.ts';
import { allowedActions } from './actions.ts';
import { clusterContext, clusterOptions, VMPLANE, withCluster } from './cluster.ts';
import { warnUnsupportedEngine } from './engine.ts';
import { getVm } from './vm.ts';

/** How long ago, as kubectl's AGE column says it: 90s, 5m, 3h, 2d. */
export function age(ts: string | Date | undefined): string {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - new Date(ts).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function vmRows(vms: VirtualMachine[], wide: boolean, allNs: boolean): string {
  const header = [
    ...(allNs ? ['NAMESPACE'] : []),
    'NAME',
    'STATUS',
    'CLASS',
    'IMAGE',
    'IP',
    'NODE',
    ...(wide ? ['POWER', 'CPUS', 'MEMORY', 'ZONE', 'ACTIONS', 'OS'] : []),
    'AGE',
  ];
  const rows = vms.map((v) => [
    ...(allNs ? [v.metadata.namespace ?? ''] : []),
    v.metadata.name ?? '',
    v.status?.printableStatus ?? 'Pending',
    v.spec.className ?? '',
    v.spec.image?.name ?? '',
    v.status?.primaryIP ?? '',
    v.status?.nodeName ?? '',
    ...(wide
      ? [
          v.spec.powerState ?? '',
          String(v.status?.class?.cpus ?? ''),
          v.status?.class?.memory ?? '',
          v.spec.zone ?? '',
          allowedActions(v.status?.printableStatus).join(','),
          guestOSLabel(v.status?.guestOS),
        ]
      : []),
    age(v.metadata.creationTimestamp),
  ]);
  return formatTable(header, rows);
}

/** A VM's interfaces: name, network, MAC, the allocated IP and the IPs the guest was seen with. */
export function interfaceTable(vm: VmInterfacesView): string {
  return formatTable(
    ['INTERFACE', 'NETWORK', 'MAC', 'IP', 'OBSERVED'],
    interfaceRows(vm).map((r) => [r.name, r.network, r.mac, r.ip, r.observed]),
  );
}

/**
 * `kubectl vm get`'s table, then the guest (its OS as the agent reports it, and the agent), then
 * its interfaces (network, MAC, allocated and observed IPs).
 */
export function vmDetails(vm: VirtualMachine, wide: boolean): string {
  const facts = guestFacts(vm.status);
  const width = Math.max(...facts.map(([label]) => label.length)) + 2;
  const lines = facts.map(([label, value]) => `${label.padEnd(width)}${value}`);
  return `${vmRows([vm], wide, false)}\n\n${lines.join('\n')}\n\n${interfaceTable(vm as VmInterfacesView)}`;
}

/** Prints `obj` as JSON or YAML when -o asks for it, else the table. */
export function print(obj: unknown, output: string | undefined, table: () => string): void {
  if (output === 'json') process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(stringify(obj));
  else process.stdout.write(`${table()}\n`);
}

export function registerShowCommands(program: Argv): void {
  program
    .command(
      ['list', 'ls'],
      'List VMs with status, class, image, IP and node.',
      (command) =>
        clusterOptions(command)
          .option('all-namespaces', {
            alias: 'A',
            type: 'boolean',
            default: false,
            describe: 'every namespace',
          })
          .option('output', {
            alias: 'o',
            choices: ['wide', 'yaml', 'json'] as const,
            describe: 'output format',
          })
          .example(
            '$0 list -A -o wide',
            'every VM, with power state, CPUs, memory, the actions allowed now and the guest OS',
          ),
      async (argv) => {
        const allNs = argv['all-namespaces'];
        await withCluster(
          argv,
          (ctx) => ({
            verb: 'list',
            resource: 'virtualmachines',
            ...(allNs ? {} : { namespace: ctx.namespace }),
          }),
          async (ctx) => {
            const path = allNs
              ? `${VMPLANE}/virtualmachines`
              : `${VMPLANE}/namespaces/${ctx.namespace}/virtualmachines`;
            const list = (await ctx.rest.request<{ items: VirtualMachine[] }>('GET', path)).body;
            if (!argv.output) await warnUnsupportedEngine(ctx);
            print(list, argv.output, () =>
              list.items.length
                ? vmRows(list.items, argv.output === 'wide', allNs)
                : `No VMs found${allNs ? '' : ` in namespace ${ctx.namespace}`}.`,
            );
          },
        );
      },
    )
    .command(
      'get <name>',
      'Show one VM, with its guest OS, whether its guest agent answers, and its interfaces.',
      (command) =>
        clusterOptions(command)
          .positional('name', { type: 'string', demandOption: true })
          .option('output', { alias: 'o', choices: ['wide', 'yaml', 'json'] as const })
          .example('$0 get web-1 -o yaml', 'the whole object, status included'),
      async (argv) => {
        const ctx = clusterContext(argv);
        const vm = await getVm(ctx, argv.name);
        print(vm, argv.output, () => vmDetails(vm, argv.output === 'wide'));
        ctx.rest.close();
      },
    );
}
