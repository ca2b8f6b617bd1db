import { describe, expect, it } from 'vitest';
import { migrateRequest, targetNodes } from './migrate';

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
});
