// The operations behind KubeVirt's subresources, as virt-api v1.7.0 performs them
// (pkg/virt-api/rest/lifecycle.go, console.go, vnc.go, subresource.go): the same checks in the
// same order, the same answers and texts. start, stop and restart only record what is asked (the
// VM's runStrategy or status.stateChangeRequests) and answer at once; virt-controller and
// virt-handler (virt-controller.ts, virt-handler.ts) carry it out. A dry run makes every check
// and the API server's own (the writes are sent with dryRun=All) and changes nothing.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChangeRequest } from './decide.ts';
import {
  EngineError,
  alive,
  keyOf,
  runStrategyOf,
  vmPath,
  vmiPath,
  type EngineContext,
  type KvVm,
  type KvVmi,
  type LocalEngine,
  type RestartOptions,
  type Running,
  type StartOptions,
  type StopOptions,
} from './engine-context.ts';
import { filesystemList, guestAgentInfo, userList } from './guest-agent-status.ts';
import { vncSocket } from './qemu.ts';

const conflict = (
  resource: 'virtualmachine' | 'virtualmachineinstance',
  name: string,
  text: string,
): EngineError =>
  new EngineError(
    409,
    `Operation cannot be fulfilled on ${resource}.kubevirt.io "${name}": ${text}`,
  );
/** The VM's status changed between the read and the patch (its test operation failed). */
class StaleVm extends EngineError {}

/**
 * Runs a power operation again on the VM as it is now when its patch found the status changed
 * meanwhile (the engine's own status writes right after a create, a start or a stop): the request
 * is decided anew each time, so a change that no longer applies is still refused. virt-api answers
 * the first such conflict; a few attempts spare users a retry that could only succeed.
 */
async function onFreshVm(op: () => Promise<void>, attempts = 3): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof StaleVm) || i >= attempts) throw e;
    }
  }
}

const notFound = (
  resource: 'virtualmachine' | 'virtualmachineinstance',
  name: string,
): EngineError => new EngineError(404, `${resource}.kubevirt.io "${name}" not found`);

const isFinal = (vmi: KvVmi | undefined): boolean =>
  vmi?.status?.phase === 'Succeeded' || vmi?.status?.phase === 'Failed';
const hasCondition = (vmi: KvVmi | undefined, type: string): boolean =>
  !!vmi?.status?.conditions?.some((c) => c.type === type && c.status === 'True');

/** The objects as the API server has them now (not the informer's possibly older copy). */
async function liveVm(ctx: EngineContext, ns: string, name: string): Promise<KvVm> {
  try {
    return (await ctx.manager.rest.request<KvVm>('GET', vmPath(ns, name))).body;
  } catch (e) {
    if ((e as { code?: number }).code === 404) throw notFound('virtualmachine', name);
    throw e;
  }
}
async function liveVmi(ctx: EngineContext, ns: string, name: string): Promise<KvVmi | undefined> {
  try {
    return (await ctx.manager.rest.request<KvVmi>('GET', vmiPath(ns, name))).body;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

const dry = (dryRun: boolean): string => (dryRun ? '?dryRun=All' : '');

/** virt-api's JSON patch of runStrategy (or running), guarded by a test of its current value. */
async function setRunStrategy(
  ctx: EngineContext,
  vm: KvVm,
  to: 'Always' | 'Halted',
  dryRun: boolean,
): Promise<void> {
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  const byRunning = vm.spec.running !== undefined && vm.spec.runStrategy === undefined;
  const patch = byRunning
    ? [
        { op: 'test', path: '/spec/running', value: vm.spec.running },
        { op: 'replace', path: '/spec/running', value: to === 'Always' },
      ]
    : [
        { op: 'test', path: '/spec/runStrategy', value: vm.spec.runStrategy },
        { op: 'replace', path: '/spec/runStrategy', value: to },
      ];
  await jsonPatch(ctx, `${vmPath(ns, name)}${dry(dryRun)}`, patch, name);
}

async function jsonPatch(
  ctx: EngineContext,
  path: string,
  patch: object[],
  name: string,
): Promise<void> {
  try {
    await ctx.manager.rest.request('PATCH', path, {
      body: patch,
      contentType: 'application/json-patch+json',
    });
  } catch (e) {
    const code = (e as { code?: number }).code;
    // A test that failed: someone changed the object meanwhile.
    if (code === 422 || code === 409)
      throw new StaleVm(409, conflict('virtualmachine', name, (e as Error).message).message);
    throw e;
  }
}

/** virt-api's state change request: added, or a lone Stop replacing what is pending. */
async function requestChange(
  ctx: EngineContext,
  vm: KvVm,
  add: ChangeRequest[],
  dryRun: boolean,
): Promise<void> {
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  const current = vm.status?.stateChangeRequests;
  const loneStop = add.length === 1 && add[0]?.action === 'Stop';
  if (current?.length && !loneStop)
    throw new EngineError(
      500,
      'Internal error occurred: unable to complete request: stop/start already underway',
    );
  const patch: object[] = vm.status
    ? [
        { op: 'test', path: '/status/stateChangeRequests', value: current ?? null },
        {
          op: current?.length ? 'replace' : 'add',
          path: '/status/stateChangeRequests',
          value: add,
        },
        ...(vm.status.startFailure ? [{ op: 'remove', path: '/status/startFailure' }] : []),
      ]
    : [{ op: 'add', path: '/status', value: { stateChangeRequests: add } }];
  await jsonPatch(ctx, `${vmPath(ns, name)}/status${dry(dryRun)}`, patch, name);
}

async function start(ctx: EngineContext, ns: string, name: string, o: StartOptions): Promise<void> {
  const vm = await liveVm(ctx, ns, name);
  const vmi = await liveVmi(ctx, ns, name);
  if (vmi && !isFinal(vmi) && vmi.status?.phase)
    throw conflict('virtualmachine', name, 'VM is already running');
  const data = o.paused ? { data: { paused: 'true' } } : {};
  const dryRun = !!o.dryRun;
  switch (runStrategyOf(vm)) {
    case 'Halted':
      return o.paused
        ? requestChange(ctx, vm, [{ action: 'Start', ...data }], dryRun)
        : setRunStrategy(ctx, vm, 'Always', dryRun);
    case 'Manual':
      return requestChange(
        ctx,
        vm,
        vmi && isFinal(vmi)
          ? [
              { action: 'Stop', uid: vmi.metadata?.uid ?? '' },
              { action: 'Start', ...data },
            ]
          : [{ action: 'Start', ...data }],
        dryRun,
      );
    case 'RerunOnFailure':
      if (vmi?.status?.phase === 'Failed')
        throw conflict(
          'virtualmachine',
          name,
          'RerunOnFailure does not support starting VM from failed state',
        );
      return requestChange(
        ctx,
        vm,
        vmi?.status?.phase === 'Succeeded'
          ? [
              { action: 'Stop', uid: vmi.metadata?.uid ?? '' },
              { action: 'Start', ...data },
            ]
          : [{ action: 'Start', ...data }],
        dryRun,
      );
    case 'Always':
    case 'Once':
      throw conflict(
        'virtualmachine',
        name,
        `${runStrategyOf(vm)} does not support manual start requests`,
      );
  }
}

async function stop(ctx: EngineContext, ns: string, name: string, o: StopOptions): Promise<void> {
  const vm = await liveVm(ctx, ns, name);
  const vmi = await liveVmi(ctx, ns, name);
  const dryRun = !!o.dryRun;
  const live = !!vmi && !isFinal(vmi);
  const uid = vmi?.metadata?.uid ?? '';
  const previousGrace = ctx.graceOverride.get(uid) ?? vmi?.spec.terminationGracePeriodSeconds;
  // virt-api patches the instance's terminationGracePeriodSeconds as KubeVirt's service account;
  // KubeVirt's admission refuses that spec update to anyone else, the engine included, so the
  // shorter grace period is kept by the engine's virt-handler part instead.
  if (live && o.gracePeriod !== undefined && !dryRun) ctx.graceOverride.set(uid, o.gracePeriod);
  const s = runStrategyOf(vm);
  if (s === 'Always' || s === 'Once') return setRunStrategy(ctx, vm, 'Halted', dryRun);
  if (!live) throw conflict('virtualmachine', name, 'VM is not running');
  if (
    s === 'Halted' &&
    (o.gracePeriod === undefined || (previousGrace !== undefined && o.gracePeriod >= previousGrace))
  )
    throw conflict(
      'virtualmachine',
      name,
      'Halted only supports manual stop requests with a shorter graceperiod',
    );
  return requestChange(ctx, vm, [{ action: 'Stop', uid: vmi?.metadata?.uid ?? '' }], dryRun);
}

async function restart(
  ctx: EngineContext,
  ns: string,
  name: string,
  o: RestartOptions,
): Promise<void> {
  const g = o.gracePeriodSeconds;
  if (g !== undefined && g > 0)
    throw new EngineError(400, 'For force restart, only gracePeriod=0 is supported for now');
  if (g !== undefined && g < 0)
    throw new EngineError(400, 'gracePeriod has to be greater or equal to 0');
  const vm = await liveVm(ctx, ns, name);
  const s = runStrategyOf(vm);
  if (s === 'Halted' || s === 'Once')
    throw conflict(
      'virtualmachine',
      name,
      `RunStategy ${s} does not support manual restart requests`,
    );
  const vmi = await liveVmi(ctx, ns, name);
  if (!vmi) throw conflict('virtualmachine', name, 'VM is not running: Halted');
  await requestChange(
    ctx,
    vm,
    [{ action: 'Stop', uid: vmi.metadata?.uid ?? '' }, { action: 'Start' }],
    !!o.dryRun,
  );
  // A forced restart: the guest goes at once (virt-api deletes the launcher pod, even in a dry run).
  if (g === 0) {
    const r = ctx.running.get(keyOf(ns, name));
    if (alive(r) && r) r.child.kill('SIGKILL');
  }
}

/** The running guest of an instance, after the checks virt-api makes before connecting. */
async function streamable(
  ctx: EngineContext,
  ns: string,
  name: string,
  what: 'console' | 'vnc',
): Promise<Running> {
  const vmi = await liveVmi(ctx, ns, name);
  if (!vmi) throw notFound('virtualmachineinstance', name);
  if (what === 'console' && vmi.status?.phase === 'Failed')
    throw conflict('virtualmachineinstance', name, 'VMI is in failed status');
  const r = ctx.running.get(keyOf(ns, name));
  // Not running yet (or any more): 400, which virtctl's console waits on and retries.
  if (vmi.status?.phase !== 'Running' || !r || !alive(r) || r.instanceUid !== vmi.metadata?.uid)
    throw new EngineError(400, 'VMI is not running');
  return r;
}

async function setPaused(
  ctx: EngineContext,
  ns: string,
  name: string,
  paused: boolean,
  dryRun: boolean,
): Promise<void> {
  const vmi = await liveVmi(ctx, ns, name);
  if (!vmi) throw notFound('virtualmachineinstance', name);
  if (vmi.status?.phase !== 'Running')
    throw conflict(
      'virtualmachineinstance',
      name,
      paused ? 'VM is not running' : 'VMI is not running',
    );
  if (paused && vmi.spec['livenessProbe'])
    throw new EngineError(
      403,
      `virtualmachineinstance.kubevirt.io "${name}" is forbidden: Pausing VMIs with LivenessProbe is currently not supported`,
    );
  if (paused && hasCondition(vmi, 'Paused'))
    throw conflict('virtualmachineinstance', name, 'VMI is already paused');
  if (!paused && !hasCondition(vmi, 'Paused'))
    throw conflict('virtualmachineinstance', name, 'VMI is not paused');
  const r = ctx.running.get(keyOf(ns, name));
  if (!r || !alive(r))
    throw new EngineError(
      500,
      `Internal error occurred: the guest of ${ns}/${name} is not running on this node`,
    );
  if (dryRun) return;
  await r.qmp.execute(paused ? 'stop' : 'cont');
  r.paused = paused;
  // virt-handler reports the Paused condition on its next look.
  ctx.manager.enqueue('local-engine', keyOf(ns, name));
}

/**
 * The guest agent's answers (guestosinfo, userlist, filesystemlist), after virt-api's checks
 * (pkg/virt-api/rest/subresource.go GuestOSInfo, UserList, FilesystemList: the instance runs and
 * has AgentConnected), from what the poller last heard, as virt-handler answers from
 * virt-launcher's cache (pkg/virt-launcher/virtwrap/manager.go).
 */
async function guestAgent(
  ctx: EngineContext,
  ns: string,
  name: string,
  what: 'guestosinfo' | 'userlist' | 'filesystemlist',
): Promise<object> {
  const vmi = await liveVmi(ctx, ns, name);
  // virt-api writes these errors as plain text with code 500 (go-restful's WriteError).
  if (!vmi)
    throw new EngineError(500, `virtualmachineinstance.kubevirt.io "${name}" not found`, true);
  const refuse = (text: string): EngineError =>
    new EngineError(500, conflict('virtualmachineinstance', name, text).message, true);
  if (vmi.status?.phase !== 'Running') throw refuse('VMI is not running');
  if (!hasCondition(vmi, 'AgentConnected')) throw refuse('VMI does not have guest agent connected');
  const r = ctx.running.get(keyOf(ns, name));
  if (!r?.agent || r.instanceUid !== vmi.metadata?.uid)
    throw new EngineError(500, `the guest of ${ns}/${name} is not running on this node`, true);
  const facts = r.agent.facts;
  return what === 'guestosinfo'
    ? guestAgentInfo(facts)
    : what === 'userlist'
      ? userList(facts)
      : filesystemList(facts);
}

export function operations(
  ctx: EngineContext,
): Omit<LocalEngine, 'definition' | 'running' | 'stopAll' | 'portForward' | 'migrate'> {
  return {
    serial: async (ns, name) => (await streamable(ctx, ns, name, 'console')).serial,
    vnc: async (ns, name) => vncSocket((await streamable(ctx, ns, name, 'vnc')).dir),
    async screenshot(ns, name) {
      const r = await streamable(ctx, ns, name, 'vnc').catch((e: EngineError) => {
        throw new EngineError(500, e.message, true);
      });
      const file = join(r.dir, `screen-${Date.now()}.png`);
      try {
        await r.qmp.execute('screendump', { filename: file, format: 'png' });
        return readFileSync(file);
      } finally {
        rmSync(file, { force: true });
      }
    },
    pause: (ns, name, o) => setPaused(ctx, ns, name, true, !!o?.dryRun),
    unpause: (ns, name, o) => setPaused(ctx, ns, name, false, !!o?.dryRun),
    start: (ns, name, o) => onFreshVm(() => start(ctx, ns, name, o ?? {})),
    stop: (ns, name, o) => onFreshVm(() => stop(ctx, ns, name, o ?? {})),
    restart: (ns, name, o) => onFreshVm(() => restart(ctx, ns, name, o ?? {})),
    guestAgent: (ns, name, what) => guestAgent(ctx, ns, name, what),
  };
}
