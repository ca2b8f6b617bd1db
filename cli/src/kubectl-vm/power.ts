// `kubectl vm start|stop|restart|pause|resume`: the power state through vmplane's spec, restart
// through KubeVirt's subresource, and --wait until the VM is there.
import type { Argv } from 'yargs';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { isNotFound } from '../../../kube/src/rest.ts';
import { allowedActions, powerPlan, type PowerAction } from './actions.ts';
import {
  clusterContext,
  clusterOptions,
  fail,
  VMPLANE,
  type ClusterContext,
  type ClusterOptions,
} from './cluster.ts';
import { getVm, readyHint } from './vm.ts';

interface PowerOptions {
  force: boolean;
  wait: boolean;
  timeout: string;
}

export function parseDuration(s: string): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(s);
  if (!match) throw new Error(`--timeout: "${s}" is not a duration like 90s or 5m`);
  const amount = Number(match[1]);
  return match[2] === 'ms' ? amount : match[2] === 'm' ? amount * 60_000 : amount * 1000;
}

async function power(
  ctx: ClusterContext,
  action: PowerAction,
  name: string,
  options: PowerOptions,
): Promise<void> {
  const vm = await getVm(ctx, name);
  const plan = powerPlan(action, { force: options.force });
  const path = `${VMPLANE}/namespaces/${ctx.namespace}/virtualmachines/${name}`;
  if (plan.patch) {
    const desired = plan.patch.spec.powerState;
    if (desired && vm.spec.powerState === desired && !options.force) {
      process.stdout.write(`virtualmachine/${name} is already ${desired}\n`);
    } else {
      try {
        await ctx.rest.request('PATCH', path, {
          body: plan.patch,
          contentType: 'application/merge-patch+json',
        });
      } catch (e) {
        return fail(ctx, e, {
          verb: 'patch',
          resource: 'virtualmachines',
          name,
          namespace: ctx.namespace,
        });
      }
      process.stdout.write(
        `virtualmachine/${name} ${plan.describe}${options.wait ? '' : ' (requested)'}\n`,
      );
    }
  } else if (plan.subresource) {
    if (!allowedActions(vm.status?.printableStatus).includes(action)) {
      process.stderr.write(
        `error: cannot ${action} virtualmachine/${name} while it is ${vm.status?.printableStatus ?? 'Pending'}\n`,
      );
      process.exit(1);
    }
    try {
      await ctx.rest.request(
        'PUT',
        `/apis/subresources.kubevirt.io/v1/namespaces/${ctx.namespace}/${plan.subresource.kind}/${name}/${plan.subresource.verb}`,
        { body: plan.subresource.body },
      );
    } catch (e) {
      if (isNotFound(e)) {
        process.stderr.write(
          `error: cannot ${action} virtualmachine/${name}: KubeVirt's subresource API (subresources.kubevirt.io) is not served in this cluster; is KubeVirt installed?\n`,
        );
        process.exit(1);
      }
      return fail(ctx, e, {
        verb: 'update',
        resource: `virtualmachines/${plan.subresource.verb}`,
        name,
        namespace: ctx.namespace,
      });
    }
    process.stdout.write(
      `virtualmachine/${name} ${plan.describe}${options.wait ? '' : ' (requested)'}\n`,
    );
  }
  if (!options.wait) return;
  const deadline = Date.now() + parseDuration(options.timeout);
  for (;;) {
    const now = (await ctx.rest.request<VirtualMachine>('GET', path)).body;
    if (plan.done(now)) {
      process.stdout.write(`virtualmachine/${name} is ${now.status?.printableStatus}\n`);
      return;
    }
    if (Date.now() > deadline) {
      process.stderr.write(
        `error: timed out after ${options.timeout} waiting for virtualmachine/${name} to be ${plan.describe}; it is ${now.status?.printableStatus ?? 'Pending'}${readyHint(now)}\n`,
      );
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const powerCommand = (action: PowerAction, help: string) => ({
  command: `${action} <name>`,
  describe: help,
  builder: (command: Argv) =>
    clusterOptions(command)
      .positional('name', { type: 'string', demandOption: true, describe: 'the VM' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe:
          action === 'stop'
            ? 'hard power-off (spec.powerOffMode=Hard): no graceful shutdown'
            : action === 'restart'
              ? 'restart at once, with no grace period'
              : 'apply even when already in that state',
      })
      .option('wait', {
        type: 'boolean',
        default: false,
        describe: 'return once the VM has reached the state, not when the request is accepted',
      })
      .option('timeout', { type: 'string', default: '5m', describe: 'how long --wait waits' })
      .example(
        `$0 ${action} web-1 -n demo${action === 'stop' ? ' --force' : ''} --wait`,
        `${action} web-1 and wait until it is done`,
      ),
  handler: async (argv: PowerOptions & ClusterOptions & { name: string }) => {
    const ctx = clusterContext(argv);
    await power(ctx, action, argv.name, argv);
    ctx.rest.close();
  },
});

export function registerPowerCommands(program: Argv): void {
  program
    .command(powerCommand('start', 'Power a VM on (spec.powerState=PoweredOn).'))
    .command(
      powerCommand('stop', 'Power a VM off (spec.powerState=PoweredOff); --force cuts power.'),
    )
    .command(powerCommand('restart', 'Restart a running VM through KubeVirt.'))
    .command(powerCommand('pause', 'Suspend a running VM in memory (spec.powerState=Suspended).'))
    .command(powerCommand('resume', 'Resume a suspended VM (spec.powerState=PoweredOn).'));
}
