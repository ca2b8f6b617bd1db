import { describe, expect, it } from 'vitest';
import { activeMigrations, migrateBody, progressLine, type Migration } from './migrate.ts';

const m = (name: string, phase: string | undefined, at: string, vmiName = 'web'): Migration => ({
  metadata: { name, creationTimestamp: at },
  spec: { vmiName },
  ...(phase ? { status: { phase } } : {}),
});

describe('kubectl vm migrate', () => {
  it('asks for the target node as an added selector on its hostname label', () => {
    expect(migrateBody('node-2', false)).toEqual({
      kind: 'MigrateOptions',
      apiVersion: 'kubevirt.io/v1',
      addedNodeSelector: { 'kubernetes.io/hostname': 'node-2' },
    });
    expect(migrateBody(undefined, true)).toEqual({
      kind: 'MigrateOptions',
      apiVersion: 'kubevirt.io/v1',
      dryRun: ['All'],
    });
  });

  it('cancels the VM’s migrations not ended yet, newest first', () => {
    const list = [
      m('a', 'Succeeded', '2026-01-01T00:00:00Z'),
      m('b', 'Running', '2026-01-01T00:01:00Z'),
      m('c', undefined, '2026-01-01T00:02:00Z'),
      m('d', 'Running', '2026-01-01T00:03:00Z', 'other'),
    ];
    expect(activeMigrations(list, 'web').map((x) => x.metadata.name)).toEqual(['c', 'b']);
  });

  it('prints each phase with the route, the time taken, or the failure', () => {
    const running: Migration = {
      ...m('x', 'Running', ''),
      status: { phase: 'Running', migrationState: { sourceNode: 'n1', targetNode: 'n2' } },
    };
    expect(progressLine('web', running)).toBe('virtualmachine/web migration x: Running n1 -> n2');
    expect(
      progressLine('web', {
        ...running,
        status: {
          phase: 'Succeeded',
          migrationState: {
            sourceNode: 'n1',
            targetNode: 'n2',
            startTimestamp: '2026-01-01T00:00:00Z',
            endTimestamp: '2026-01-01T00:00:03Z',
          },
        },
      }),
    ).toBe('virtualmachine/web migrated n1 -> n2 in 3 s (x)');
    expect(
      progressLine('web', {
        ...running,
        status: { phase: 'Failed', migrationState: { failureReason: 'VMI web is not migratable' } },
      }),
    ).toBe('virtualmachine/web migration x failed: VMI web is not migratable');
  });
});
