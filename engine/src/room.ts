// Whether this machine has room for a guest, as the scheduler would say it (virt-handler asks).
import { guestMemory } from './decide.ts';
import { alive, type EngineContext, type KvVmi } from './engine-context.ts';
import { instanceResources } from './guest-command.ts';
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
  const maxCpus = ctx.options.maxCpus ?? QEMU_LIMITS.maxCpus;
  if (cpus > maxCpus)
    return {
      ok: false,
      message: `0/1 nodes are available: 1 Insufficient cpu (the VM asks for ${cpus} vCPUs; the local engine gives a VM at most ${maxCpus})`,
    };
  const maxVms = ctx.options.maxVms ?? 16;
  if ([...ctx.running.values()].filter(alive).length >= maxVms)
    return {
      ok: false,
      message: `0/1 nodes are available: 1 Too many pods (the local engine runs at most ${maxVms} VMs at once)`,
    };
  return { ok: true, memoryBytes: memory.bytes, cpus };
}
