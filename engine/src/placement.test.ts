import { describe, expect, it } from 'vitest';
import { placeInstance, type NodeView } from './placement.ts';

const node = (name: string, zone: string, guests = 0): NodeView => ({
  name,
  labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone },
  guests,
});
const nodes = [node('a', 'zone-a', 2), node('b', 'zone-b', 1)];

describe('placing an instance', () => {
  it('spreads: the node running the fewest guests, by name when they tie', () => {
    expect(placeInstance({}, nodes)).toEqual({ ok: true, node: 'b' });
    expect(placeInstance({}, [node('b', 'z'), node('a', 'z')])).toEqual({ ok: true, node: 'a' });
  });
  it('honours the nodeSelector and a migration’s added selector', () => {
    expect(
      placeInstance({ nodeSelector: { 'topology.kubernetes.io/zone': 'zone-a' } }, nodes),
    ).toEqual({ ok: true, node: 'a' });
    expect(
      placeInstance(
        { nodeSelector: { 'kubernetes.io/hostname': 'b' }, addedNodeSelector: { x: 'y' } },
        nodes,
      ),
    ).toEqual({
      ok: false,
      message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
    });
  });
  it('never uses a cordoned or NoSchedule-tainted node', () => {
    expect(
      placeInstance({}, [{ ...node('a', 'z'), unschedulable: true }, node('b', 'z', 5)]),
    ).toEqual({ ok: true, node: 'b' });
    expect(
      placeInstance({ notOn: 'b' }, [{ ...node('a', 'z'), unschedulable: true }, node('b', 'z')]),
    ).toEqual({
      ok: false,
      message:
        "0/2 nodes are available: 1 node(s) were unschedulable, 1 node(s) didn't match pod anti-affinity rules.",
    });
  });
  it('never puts a migration target on the node it leaves, and says so', () => {
    expect(placeInstance({ notOn: 'b' }, nodes)).toEqual({ ok: true, node: 'a' });
    expect(placeInstance({ notOn: 'a' }, [node('a', 'z')])).toEqual({
      ok: false,
      message: "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules.",
    });
  });
});
