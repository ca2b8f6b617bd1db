// Whether this machine has room for a guest, as the scheduler would say it (virt-handler asks).
import { guestMemory } from './decide.ts';
import { alive, nodesOf, type EngineContext, type KvVmi } from './engine-context.ts';
import { instanceResources } from './guest-command.ts';
import { placeInstance, type PlacementAsk, type Placement } from './placement.ts';
import { nodeLabels, NODES, unschedulable, type NodeObject } from './node.ts';
import { QEMU_LIMITS } from './qemu.ts';

/** Guest memory the engine's running guests hold now. */
const heldMemory = (ctx: EngineContext): number =>
  [...ctx.running.values()].reduce((sum, r) => sum + (alive(r) ? r.memoryBytes : 0), 0);

/**
 * Whether this machine has room for the guest, as the scheduler would say it: the engine's memory
 * budget less what its running guests hold, its vCPU cap per VM, and its cap on VMs at once.
 */
export function roomFor(
  ctx: EngineContext,
  vmi: KvVmi,
): { ok: true; memoryBytes: number; cpus: number } | { ok: false; message: string } {
  const asked = instanceResources(vmi);
  if (!asked.ok) return asked;
  const memory = guestMemory(
    asked.memoryBytes,
    ctx.options.memoryCapBytes,
    ctx.options.memoryBudgetBytes() - heldMemory(ctx),
  );
  if (!memory.ok) return memory;
  const cpus = asked.cpus;
  const n = nodesOf(ctx.options).length;
  const maxCpus = ctx.options.maxCpus ?? QEMU_LIMITS.maxCpus;
  if (cpus > maxCpus)
    return {
      ok: false,
      message: `0/${n} nodes are available: ${n} Insufficient cpu (the VM asks for ${cpus} vCPUs; the local engine gives a VM at most ${maxCpus})`,
    };
  const maxVms = ctx.options.maxVms ?? 16;
  if ([...ctx.running.values()].filter(alive).length >= maxVms)
    return {
      ok: false,
      message: `0/${n} nodes are available: ${n} Too many pods (the local engine runs at most ${maxVms} VMs at once)`,
    };
  return { ok: true, memoryBytes: memory.bytes, cpus };
}

/** The node the instance goes on (placement.ts), from the engine's nodes and their guests now. */
export function placeOn(ctx: EngineContext, ask: PlacementAsk): Placement {
  const guests = new Map<string, number>();
  for (const r of ctx.running.values())
    if (alive(r)) guests.set(r.node, (guests.get(r.node) ?? 0) + 1);
  return placeInstance(
    ask,
    nodesOf(ctx.options).map((n) => ({
      name: n.name,
      labels: nodeLabels(n),
      guests: guests.get(n.name) ?? 0,
      unschedulable: unschedulable(
        ctx.manager.informer(NODES).get(n.name) as NodeObject | undefined,
      ),
    })),
  );
}
