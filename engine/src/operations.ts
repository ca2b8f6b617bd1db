// The operations behind KubeVirt's subresources (console, VNC, screenshot, pause, unpause, start,
// stop, restart), as the subresource API server calls them.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type RunStrategy } from './decide.ts';
import {
  EngineError,
  alive,
  keyOf,
  runStrategyOf,
  vmPath,
  writeVmi,
  type EngineContext,
  type KvVm,
  type KvVmi,
  type LocalEngine,
  type Running,
} from './engine-context.ts';
import { vncSocket } from './qemu.ts';
import { createInstance, deleteInstance } from './virt-controller.ts';
import { stopProcess } from './virt-handler.ts';

/** The running guest of an instance, or the answer KubeVirt gives when there is none. */
export function guest(ctx: EngineContext, ns: string, name: string): Running {
  const r = ctx.running.get(keyOf(ns, name));
  if (!alive(r) || !r)
    throw new EngineError(
      ctx.vmis.get(name, ns) ? 409 : 404,
      ctx.vmis.get(name, ns)
        ? `VirtualMachineInstance ${ns}/${name} is not running`
        : `virtualmachineinstance.kubevirt.io "${name}" not found`,
    );
  return r;
}

export function vmOf(ctx: EngineContext, ns: string, name: string): KvVm {
  const vm = ctx.vms.get(name, ns) as KvVm | undefined;
  if (!vm) throw new EngineError(404, `virtualmachine.kubevirt.io "${name}" not found`);
  return vm;
}

export async function setRunStrategy(
  ctx: EngineContext,
  ns: string,
  name: string,
  s: RunStrategy,
): Promise<void> {
  await ctx.manager.rest.request('PATCH', vmPath(ns, name), {
    body: { spec: { runStrategy: s, running: null } },
    contentType: 'application/merge-patch+json',
  });
}

export async function setPaused(
  ctx: EngineContext,
  ns: string,
  name: string,
  paused: boolean,
): Promise<void> {
  const r = guest(ctx, ns, name);
  if (r.paused === paused)
    throw new EngineError(
      409,
      paused ? `VMI ${ns}/${name} is already paused` : `VMI ${ns}/${name} is not paused`,
    );
  await r.qmp.execute(paused ? 'stop' : 'cont');
  r.paused = paused;
  await writeVmi(ctx, ns, name, {
    conditions: [
      { type: 'Ready', status: paused ? 'False' : 'True' },
      ...(paused
        ? [
            {
              type: 'Paused',
              status: 'True',
              reason: 'PausedByUser',
              message: 'VMI was paused by user',
            },
          ]
        : []),
    ],
  });
  ctx.manager.enqueue('local-engine', keyOf(ns, name));
}

export function operations(
  ctx: EngineContext,
): Omit<LocalEngine, 'definition' | 'running' | 'stopAll'> {
  return {
    serial: (ns, name) => guest(ctx, ns, name).serial,
    vnc: (ns, name) => vncSocket(guest(ctx, ns, name).dir),
    async screenshot(ns, name) {
      const r = guest(ctx, ns, name);
      const file = join(r.dir, `screen-${Date.now()}.png`);
      try {
        await r.qmp.execute('screendump', { filename: file, format: 'png' });
        return readFileSync(file);
      } finally {
        rmSync(file, { force: true });
      }
    },
    pause: (ns, name) => setPaused(ctx, ns, name, true),
    unpause: (ns, name) => setPaused(ctx, ns, name, false),
    async start(ns, name) {
      const vm = vmOf(ctx, ns, name);
      const s = runStrategyOf(vm);
      if (s === 'Always' || (s === 'Manual' && ctx.vmis.get(name, ns)))
        throw new EngineError(409, `VM ${ns}/${name} is already running`);
      if (s === 'Manual') await createInstance(ctx, vm, ns, name);
      else await setRunStrategy(ctx, ns, name, 'Always');
    },
    async stop(ns, name, graceSeconds) {
      const vm = vmOf(ctx, ns, name);
      const vmi = ctx.vmis.get(name, ns) as KvVmi | undefined;
      if (runStrategyOf(vm) === 'Halted' && !vmi)
        throw new EngineError(409, `VM ${ns}/${name} is not running`);
      if (graceSeconds !== undefined)
        await stopProcess(ctx, vm, keyOf(ns, name), ns, name, graceSeconds);
      if (runStrategyOf(vm) === 'Manual') {
        if (vmi) await deleteInstance(ctx, ns, name, vmi);
      } else await setRunStrategy(ctx, ns, name, 'Halted');
    },
    async restart(ns, name, graceSeconds) {
      const vm = vmOf(ctx, ns, name);
      if (runStrategyOf(vm) === 'Halted')
        throw new EngineError(409, `RunStrategy Halted does not support manual restart requests`);
      const vmi = ctx.vmis.get(name, ns) as KvVmi | undefined;
      if (!vmi) throw new EngineError(409, `VM ${ns}/${name} is not running`);
      // The guest goes down (gracefully unless asked otherwise), its instance is replaced.
      await stopProcess(ctx, vm, keyOf(ns, name), ns, name, graceSeconds);
      await deleteInstance(ctx, ns, name, vmi);
      if (runStrategyOf(vm) === 'Manual') await createInstance(ctx, vm, ns, name);
    },
  };
}
