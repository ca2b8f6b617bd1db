// Where the engine's scheduler puts an instance's launcher (pure): on a node whose labels match
// the instance's nodeSelector (and, for a migration target, the migration's added selector), never
// on the node a migration leaves, and among those on the one running the fewest guests (the
// default scheduler's spreading, reduced to what the engine's nodes differ in); never on a
// cordoned node or one tainted NoSchedule (the engine's guests tolerate no taint). When no node fits,
// the scheduler's own message: "0/N nodes are available: ..." with a count per reason.

export interface NodeView {
  name: string;
  labels: Record<string, string>;
  /** Guests running on it now. */
  guests: number;
  /** Cordoned (spec.unschedulable) or tainted NoSchedule (a drain's kubevirt.io/drain, say). */
  unschedulable?: boolean;
}

export interface PlacementAsk {
  nodeSelector?: Record<string, string>;
  /** A migration's addedNodeSelector: both must match. */
  addedNodeSelector?: Record<string, string>;
  /** The node a migration leaves (the target pod's anti-affinity to it). */
  notOn?: string;
}

export type Placement = { ok: true; node: string } | { ok: false; message: string };

const matches = (
  labels: Record<string, string>,
  sel: Record<string, string> | undefined,
): boolean => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);

export function placeInstance(ask: PlacementAsk, nodes: readonly NodeView[]): Placement {
  const reasons = new Map<string, number>();
  const fits: NodeView[] = [];
  for (const n of nodes) {
    const why =
      n.name === ask.notOn
        ? "node(s) didn't match pod anti-affinity rules"
        : n.unschedulable
          ? 'node(s) were unschedulable'
          : !matches(n.labels, ask.nodeSelector) || !matches(n.labels, ask.addedNodeSelector)
            ? "node(s) didn't match Pod's node affinity/selector"
            : undefined;
    if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
    else fits.push(n);
  }
  const best = [...fits].sort((a, b) => a.guests - b.guests || a.name.localeCompare(b.name))[0];
  if (best) return { ok: true, node: best.name };
  const counts = [...reasons].map(([why, count]) => `${count} ${why}`).join(', ');
  return {
    ok: false,
    message: `0/${nodes.length} nodes are available: ${counts || 'the engine has no nodes'}.`,
  };
}
