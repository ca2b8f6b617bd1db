import { describe, expect, it } from 'vitest';
import { migrateRequest, migrationLine, targetNodes } from './migrate';

describe('migration from the plugin', () => {
  it('asks KubeVirt’s migrate subresource, the target node as an added selector', () => {
    const r = migrateRequest('team-a', 'web', 'node-2');
    expect(r).toMatchObject({
      method: 'PUT',
      path: '/apis/subresources.kubevirt.io/v1/namespaces/team-a/virtualmachines/web/migrate',
      body: { addedNodeSelector: { 'kubernetes.io/hostname': 'node-2' } },
      access: { resource: 'virtualmachines', subresource: 'migrate', verb: 'update' },
    });
    expect(migrateRequest('team-a', 'web', '').body).not.toHaveProperty('addedNodeSelector');
  });

  it('offers every node but the VM’s own', () => {
    expect(targetNodes(['n3', 'n1', 'n2'], 'n1')).toEqual(['n2', 'n3']);
  });

  it('says where the last migration went, how long it took, or why it failed', () => {
    expect(migrationLine(undefined)).toBeUndefined();
    expect(migrationLine({ sourceNode: 'a', targetNode: 'b' })).toBe('Migrating a → b');
    expect(
      migrationLine({
        sourceNode: 'a',
        targetNode: 'b',
        completed: true,
        startTimestamp: '2026-01-01T00:00:00Z',
        endTimestamp: '2026-01-01T00:00:02Z',
      })
    ).toBe('Migrated a → b in 2 s');
    expect(
      migrationLine({ sourceNode: 'a', targetNode: 'b', failed: true, abortStatus: 'Succeeded' })
    ).toBe('Migration a → b cancelled');
    expect(migrationLine({ sourceNode: 'a', failed: true, failureReason: 'x' })).toBe(
      'Migration a → ? failed: x'
    );
  });
});
