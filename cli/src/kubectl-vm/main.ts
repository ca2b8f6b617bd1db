// `kubectl vm`: VM power, console, creation and policy checks, as a kubectl plugin (kubectl-vm on
// PATH). It is to vmplane what virtctl is to KubeVirt, and it speaks the policies.
import { readFileSync } from 'node:fs';
import { KubeConfig, type V1Namespace } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { Argv } from 'yargs';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { classAvailableIn } from '../../../decisions/src/vm.ts';
import { staticLookups } from '../../../kube/src/lookups.ts';
import { parseLabels, registerPolicyCommands } from '../policy/commands.ts';
import { runProgram } from '../run.ts';
import { formatTable } from '../policy/offline.ts';
import { ApiError, KubeRest, isNotFound } from '../../../kube/src/rest.ts';
import {
  allowedActions,
  buildVm,
  explainError,
  parseWarnings,
  powerPlan,
  withoutVmplaneFinalizers,
  type PowerAction,
} from './actions.ts';
import { runConsole } from './console.ts';
import { proxyVnc, saveScreenshot } from './vnc.ts';
import { reservationOf } from '../../../api/src/wellknown.ts';
import {
  activeKubeVirt,
  engineCheck,
  isSupportedKubeVirt,
  SUPPORTED_KUBEVIRT_TEXT,
  type KubeVirtCr,
} from '../../../decisions/src/kubevirt-install.ts';

const V = '/apis/vmplane.io/v1alpha1';

interface Ctx {
  kc: KubeConfig;
  rest: KubeRest;
  namespace: string;
}

/** The console and the screen need a running (or paused) VM: otherwise say so and exit 1. */
async function exitUnlessRunning(ctx: Ctx, name: string): Promise<void> {
  const vm = await getVm(ctx, name);
  const status = vm.status?.printableStatus;
  if (status === 'Running' || status === 'Paused') return;
  process.stderr.write(
    `error: virtualmachine/${name} is not running (status: ${status ?? 'Pending'}${readyHint(vm)}); start it with: kubectl vm start ${name} --wait\n`,
  );
  process.exit(1);
}

function context(argv: { kubeconfig?: string; context?: string; namespace?: string }): Ctx {
  const kc = new KubeConfig();
  if (argv.kubeconfig) kc.loadFromFile(argv.kubeconfig);
  else kc.loadFromDefault();
  if (argv.context) kc.setCurrentContext(argv.context);
  const ns = argv.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  return { kc, rest: new KubeRest(kc), namespace: ns };
}

/** Who the API server thinks we are, for 403 messages. */
async function whoAmI(rest: KubeRest): Promise<string | undefined> {
  try {
    const r = await rest.request<{ status?: { userInfo?: { username?: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      },
    );
    return r.body.status?.userInfo?.username;
  } catch {
    return undefined;
  }
}

async function fail(
  ctx: Ctx,
  e: unknown,
  what: { verb: string; resource: string; name?: string; namespace?: string },
): Promise<never> {
  const user = e instanceof ApiError && e.code === 403 ? await whoAmI(ctx.rest) : undefined;
  process.stderr.write(`error: ${explainError(e, { ...what, ...(user ? { user } : {}) })}\n`);
  ctx.rest.close();
  process.exit(1);
}

function age(ts: string | Date | undefined): string {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - new Date(ts).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function vmRows(vms: VirtualMachine[], wide: boolean, allNs: boolean): string {
  const header = [
    ...(allNs ? ['NAMESPACE'] : []),
    'NAME',
    'STATUS',
    'CLASS',
    'IMAGE',
    'IP',
    'NODE',
    ...(wide ? ['POWER', 'CPUS', 'MEMORY', 'ZONE', 'ACTIONS'] : []),
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
        ]
      : []),
    age(v.metadata.creationTimestamp),
  ]);
  return formatTable(header, rows);
}

function print(obj: unknown, output: string | undefined, table: () => string): void {
  if (output === 'json') process.stdout.write(`${JSON.stringify(obj, null, 2)}\n`);
  else if (output === 'yaml') process.stdout.write(stringify(obj));
  else process.stdout.write(`${table()}\n`);
}

async function getVm(ctx: Ctx, name: string): Promise<VirtualMachine> {
  try {
    return (
      await ctx.rest.request<VirtualMachine>(
        'GET',
        `${V}/namespaces/${ctx.namespace}/virtualmachines/${name}`,
      )
    ).body;
  } catch (e) {
    return fail(ctx, e, {
      verb: 'get',
      resource: 'virtualmachines',
      name,
      namespace: ctx.namespace,
    });
  }
}

function parseDuration(s: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(s);
  if (!m) throw new Error(`--timeout: "${s}" is not a duration like 90s or 5m`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

async function power(
  ctx: Ctx,
  action: PowerAction,
  name: string,
  o: { force: boolean; wait: boolean; timeout: string },
): Promise<void> {
  const vm = await getVm(ctx, name);
  const plan = powerPlan(action, { force: o.force });
  const path = `${V}/namespaces/${ctx.namespace}/virtualmachines/${name}`;
  if (plan.patch) {
    const desired = plan.patch.spec.powerState;
    if (desired && vm.spec.powerState === desired && !o.force) {
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
        `virtualmachine/${name} ${plan.describe}${o.wait ? '' : ' (requested)'}\n`,
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
      `virtualmachine/${name} ${plan.describe}${o.wait ? '' : ' (requested)'}\n`,
    );
  }
  if (!o.wait) return;
  const deadline = Date.now() + parseDuration(o.timeout);
  for (;;) {
    const now = (await ctx.rest.request<VirtualMachine>('GET', path)).body;
    if (plan.done(now)) {
      process.stdout.write(`virtualmachine/${name} is ${now.status?.printableStatus}\n`);
      return;
    }
    if (Date.now() > deadline) {
      process.stderr.write(
        `error: timed out after ${o.timeout} waiting for virtualmachine/${name} to be ${plan.describe}; it is ${now.status?.printableStatus ?? 'Pending'}${readyHint(now)}\n`,
      );
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function readyHint(vm: VirtualMachine): string {
  const c = vm.status?.conditions?.find(
    (x) =>
      x.status === 'False' &&
      ['EngineAvailable', 'ClassResolved', 'ImageResolved', 'DisksReady', 'PowerAction'].includes(
        x.type,
      ),
  );
  return c ? ` (${c.type}: ${c.message})` : '';
}

const common = (y: Argv): Argv<{ kubeconfig?: string; context?: string; namespace?: string }> =>
  y
    .option('kubeconfig', {
      type: 'string',
      describe: 'path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)',
    })
    .option('context', { type: 'string', describe: 'the kubeconfig context to use' })
    .option('namespace', {
      alias: 'n',
      type: 'string',
      describe: "the namespace (default: the context's)",
    }) as never;

const powerCommand = (action: PowerAction, help: string) => ({
  command: `${action} <name>`,
  describe: help,
  builder: (y: Argv) =>
    common(y)
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
  handler: async (a: {
    name: string;
    force: boolean;
    wait: boolean;
    timeout: string;
    kubeconfig?: string;
    context?: string;
    namespace?: string;
  }) => {
    const ctx = context(a);
    await power(ctx, action, a.name, a);
    ctx.rest.close();
  },
});

interface Finalized {
  metadata: { name?: string; namespace?: string; resourceVersion?: string; finalizers?: string[] };
}

/** Takes vmplane's finalizers off one object, retrying when it changed under us. */
async function releaseOne(rest: KubeRest, path: string, obj: Finalized): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const keep = withoutVmplaneFinalizers(obj.metadata.finalizers);
    if (!keep) return false;
    try {
      await rest.request('PATCH', path, {
        body: { metadata: { finalizers: keep, resourceVersion: obj.metadata.resourceVersion } },
        contentType: 'application/merge-patch+json',
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      if (!(e instanceof ApiError && e.code === 409)) throw e;
      obj = (await rest.request<Finalized>('GET', path)).body;
    }
  }
  throw new Error(`${path} kept changing; run the command again`);
}

/** `release-finalizers`: before uninstalling vmplane, so no VM or disk waits for its controllers. */
async function releaseFinalizers(ctx: Ctx, all: boolean): Promise<void> {
  const counts: Record<string, number> = {};
  for (const plural of ['virtualmachines', 'virtualmachinedisks']) {
    const base = all ? `${V}/${plural}` : `${V}/namespaces/${ctx.namespace}/${plural}`;
    const { body } = await ctx.rest.request<{ items: Finalized[] }>('GET', base);
    counts[plural] = 0;
    for (const o of body.items) {
      const path = `${V}/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`;
      if (await releaseOne(ctx.rest, path, o)) counts[plural]++;
    }
  }
  process.stdout.write(
    `released ${counts.virtualmachines} VMs and ${counts.virtualmachinedisks} disks${all ? '' : ` in namespace ${ctx.namespace}`}: they no longer wait for vmplane's controllers. Their KubeVirt VMs and DataVolumes are owned by them and go with them (Kubernetes' garbage collector).\n`,
  );
}

/** The cluster's KubeVirt CRs; undefined when KubeVirt's API is not there or may not be read. */
async function kubeVirts(ctx: Ctx): Promise<KubeVirtCr[] | undefined> {
  try {
    return (
      await ctx.rest.request<{ items: KubeVirtCr[] }>('GET', '/apis/kubevirt.io/v1/kubevirts')
    ).body.items;
  } catch {
    return undefined;
  }
}

/** One line on stderr when the cluster runs a KubeVirt vmplane is not checked with. */
async function warnUnsupportedEngine(ctx: Ctx): Promise<void> {
  const kv = activeKubeVirt((await kubeVirts(ctx)) ?? []);
  const version = kv?.status?.observedKubeVirtVersion;
  if (kv?.status?.phase === 'Deployed' && version && !isSupportedKubeVirt(version))
    process.stderr.write(
      `warning: this cluster runs KubeVirt ${version}; vmplane is checked with KubeVirt ${SUPPORTED_KUBEVIRT_TEXT} (kubectl vm engine)\n`,
    );
}

await runProgram('kubectl vm', (program) => {
  program
    .usage(
      'kubectl vm COMMAND: run and check vmplane VMs. Honours --kubeconfig, --context and -n like kubectl.',
    )
    .command(
      ['list', 'ls'],
      'List VMs with status, class, image, IP and node.',
      (y) =>
        common(y)
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
            'every VM, with power state, CPUs, memory and the actions allowed now',
          ),
      async (a) => {
        const ctx = context(a);
        const path = a['all-namespaces']
          ? `${V}/virtualmachines`
          : `${V}/namespaces/${ctx.namespace}/virtualmachines`;
        try {
          const list = (await ctx.rest.request<{ items: VirtualMachine[] }>('GET', path)).body;
          if (!a.output) await warnUnsupportedEngine(ctx);
          print(list, a.output, () =>
            list.items.length
              ? vmRows(list.items, a.output === 'wide', a['all-namespaces'])
              : `No VMs found${a['all-namespaces'] ? '' : ` in namespace ${ctx.namespace}`}.`,
          );
        } catch (e) {
          await fail(ctx, e, {
            verb: 'list',
            resource: 'virtualmachines',
            ...(a['all-namespaces'] ? {} : { namespace: ctx.namespace }),
          });
        }
        ctx.rest.close();
      },
    )
    .command(
      'get <name>',
      'Show one VM.',
      (y) =>
        common(y)
          .positional('name', { type: 'string', demandOption: true })
          .option('output', { alias: 'o', choices: ['wide', 'yaml', 'json'] as const })
          .example('$0 get web-1 -o yaml', 'the whole object, status included'),
      async (a) => {
        const ctx = context(a);
        const vm = await getVm(ctx, a.name);
        print(vm, a.output, () => vmRows([vm], a.output === 'wide', false));
        ctx.rest.close();
      },
    )
    .command(
      'engine',
      "Say whether the cluster's KubeVirt runs, its version, and whether vmplane is checked with it.",
      (y) => common(y),
      async (a) => {
        const ctx = context(a);
        const crs = await kubeVirts(ctx);
        const check = engineCheck(crs !== undefined, crs ?? []);
        const kv = activeKubeVirt(crs ?? []);
        const version = kv?.status?.observedKubeVirtVersion;
        process.stdout.write(
          `${check.ok ? 'available' : 'unavailable'} (${check.reason}): ${check.message}\nvmplane is checked with KubeVirt ${SUPPORTED_KUBEVIRT_TEXT}${version ? `; this cluster runs ${version}${isSupportedKubeVirt(version) ? ', which is supported' : ', which is outside it'}` : ''}\n`,
        );
        ctx.rest.close();
        if (!check.ok || (version && !isSupportedKubeVirt(version))) process.exitCode = 1;
      },
    )
    .command(powerCommand('start', 'Power a VM on (spec.powerState=PoweredOn).'))
    .command(
      powerCommand('stop', 'Power a VM off (spec.powerState=PoweredOff); --force cuts power.'),
    )
    .command(powerCommand('restart', 'Restart a running VM through KubeVirt.'))
    .command(powerCommand('pause', 'Suspend a running VM in memory (spec.powerState=Suspended).'))
    .command(powerCommand('resume', 'Resume a suspended VM (spec.powerState=PoweredOn).'))
    .command(
      'console <name>',
      'Attach to the serial console (Ctrl-] leaves).',
      (y) =>
        common(y)
          .positional('name', { type: 'string', demandOption: true })
          .example('$0 console web-1', 'log in on the serial console'),
      async (a) => {
        const ctx = context(a);
        await exitUnlessRunning(ctx, a.name);
        const code = await runConsole(ctx.kc, ctx.namespace, a.name, {
          input: process.stdin,
          output: process.stdout,
          err: process.stderr,
        });
        ctx.rest.close();
        process.exit(code);
      },
    )
    .command(
      'vnc <name>',
      "The VM's screen: a local port for any VNC viewer, or a screenshot (--screenshot FILE).",
      (y) =>
        common(y)
          .positional('name', { type: 'string', demandOption: true })
          .option('port', {
            type: 'number',
            default: 0,
            describe: 'the loopback port to listen on (0: any free port)',
          })
          .option('screenshot', {
            type: 'string',
            describe: 'save the screen as PNG to this file and exit',
          })
          .example('$0 vnc web-1', 'then point a VNC viewer at the printed address')
          .example('$0 vnc web-1 --screenshot web-1.png', 'what the screen shows now'),
      async (a) => {
        const ctx = context(a);
        await exitUnlessRunning(ctx, a.name);
        ctx.rest.close();
        if (a.screenshot) {
          await saveScreenshot(ctx.kc, ctx.namespace, a.name, a.screenshot).catch((e: Error) => {
            process.stderr.write(`error: ${e.message}\n`);
            process.exit(1);
          });
          process.stdout.write(`saved the screen of virtualmachine/${a.name} to ${a.screenshot}\n`);
          return;
        }
        const server = await proxyVnc(ctx.kc, ctx.namespace, a.name, a.port, (m) =>
          process.stderr.write(`${m}\n`),
        );
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : a.port;
        process.stdout.write(
          `VNC of virtualmachine/${a.name} at 127.0.0.1:${port}: point a VNC viewer at it (for example vncviewer 127.0.0.1::${port}); Ctrl-C stops\n`,
        );
      },
    )
    .command(
      'create <name>',
      'Create a VM from a class and an image; shows every policy denial and warning.',
      (y) =>
        common(y)
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
          ),
      async (a) => {
        const ctx = context(a);
        let vm: VirtualMachine;
        try {
          vm = buildVm({
            name: a.name,
            namespace: ctx.namespace,
            ...(a.class ? { className: a.class } : {}),
            ...(a.image ? { image: a.image } : {}),
            ...(a['image-kind'] ? { imageKind: a['image-kind'] } : {}),
            ...(a.disk ? { disks: a.disk } : {}),
            ...(a['cloud-init'] ? { cloudInit: readFileSync(a['cloud-init'], 'utf8') } : {}),
            ...(a['powered-off'] ? { powerState: 'PoweredOff' as const } : {}),
            labels: parseLabels(a.label),
          });
        } catch (e) {
          process.stderr.write(`error: ${(e as Error).message}\n`);
          process.exit(2);
        }
        const dry = a['dry-run'] === 'server';
        try {
          const r = await ctx.rest.request<VirtualMachine>(
            'POST',
            `${V}/namespaces/${ctx.namespace}/virtualmachines${dry ? '?dryRun=All' : ''}`,
            { body: vm },
          );
          for (const w of parseWarnings(r.headers.warning)) process.stderr.write(`Warning: ${w}\n`);
          if (a.output) print(r.body, a.output, () => '');
          else
            process.stdout.write(
              `virtualmachine/${a.name} created${dry ? ' (server dry run)' : ''}\n`,
            );
        } catch (e) {
          if (e instanceof ApiError && e.code !== 403 && e.code !== 404) {
            process.stderr.write(
              `error: ${explainError(e, { verb: 'create', resource: 'virtualmachines', namespace: ctx.namespace })}\n`,
            );
            process.exit(1);
          }
          await fail(ctx, e, {
            verb: 'create',
            resource: 'virtualmachines',
            namespace: ctx.namespace,
          });
        }
        ctx.rest.close();
      },
    )
    .command(
      'classes',
      'The VM classes available in the namespace: CPUs, memory, reservation.',
      (y) => common(y).example('$0 classes -n team-a', 'what team-a may use'),
      async (a) => {
        const ctx = context(a);
        try {
          const [classes, ns] = await Promise.all([
            ctx.rest.request<{ items: VirtualMachineClass[] }>('GET', `${V}/virtualmachineclasses`),
            ctx.rest
              .request<V1Namespace>('GET', `/api/v1/namespaces/${ctx.namespace}`)
              .catch(() => undefined),
          ]);
          const l = staticLookups({
            classes: classes.body.items,
            ...(ns ? { namespaces: [ns.body] } : {}),
          });
          const usable = classes.body.items.filter((c) => classAvailableIn(c, ctx.namespace, l));
          const rows = usable.map((c) => [
            c.metadata.name ?? '',
            String(c.spec.hardware.cpus),
            c.spec.hardware.memory,
            reservationOf(c),
            String(
              (c.spec.hardware.devices?.gpus ?? []).reduce((n, g) => n + (g.count ?? 1), 0) || '',
            ),
            c.spec.description ?? '',
          ]);
          process.stdout.write(
            `${rows.length ? formatTable(['NAME', 'CPUS', 'MEMORY', 'RESERVATION', 'GPUS', 'DESCRIPTION'], rows) : `No class is available in namespace ${ctx.namespace}.`}\n`,
          );
        } catch (e) {
          await fail(ctx, e, { verb: 'list', resource: 'virtualmachineclasses' });
        }
        ctx.rest.close();
      },
    )
    .command(
      'images',
      'The images usable from the namespace: its own and the cluster library.',
      (y) => common(y),
      async (a) => {
        const ctx = context(a);
        try {
          const [own, lib] = await Promise.all([
            ctx.rest.request<{ items: VirtualMachineImage[] }>(
              'GET',
              `${V}/namespaces/${ctx.namespace}/virtualmachineimages`,
            ),
            ctx.rest.request<{ items: ClusterVirtualMachineImage[] }>(
              'GET',
              `${V}/clustervirtualmachineimages`,
            ),
          ]);
          const rows = [
            ...own.body.items.map((i) => ['VirtualMachineImage', i] as const),
            ...lib.body.items.map((i) => ['ClusterVirtualMachineImage', i] as const),
          ].map(([kind, i]) => [
            i.metadata.name ?? '',
            kind,
            i.spec.osInfo?.name ?? '',
            i.spec.osInfo?.version ?? '',
            i.spec.size ?? '',
          ]);
          process.stdout.write(
            `${rows.length ? formatTable(['NAME', 'KIND', 'OS', 'VERSION', 'SIZE'], rows) : 'No image is available.'}\n`,
          );
        } catch (e) {
          await fail(ctx, e, {
            verb: 'list',
            resource: 'virtualmachineimages',
            namespace: ctx.namespace,
          });
        }
        ctx.rest.close();
      },
    )
    .command(
      'release-finalizers',
      "Take vmplane's finalizers off VMs and disks, before uninstalling vmplane (helm uninstall), so deleting them, their namespaces or the CRDs never waits for controllers that are gone.",
      (y) =>
        common(y)
          .option('all-namespaces', { alias: 'A', type: 'boolean', default: false })
          .example('$0 release-finalizers -A && helm uninstall vmplane -n vmplane-system', ''),
      async (argv) => {
        const ctx = context(argv);
        try {
          await releaseFinalizers(ctx, argv['all-namespaces']);
        } catch (e) {
          await fail(ctx, e, { verb: 'patch', resource: 'virtualmachines' });
        }
        ctx.rest.close();
      },
    );
  registerPolicyCommands(program);
  program.completion(
    'completion',
    'Print a bash/zsh completion script: kubectl vm completion >> ~/.bashrc',
  );
});
