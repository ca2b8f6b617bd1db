import { describe, expect, it } from 'vitest';
import { crdServedPaths } from './client.ts';

describe('crdServedPaths', () => {
  it('lists the group versions a CRD serves, with its plural, and leaves out unserved ones', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'virtualmachines.kubevirt.io' },
      spec: {
        group: 'kubevirt.io',
        names: { plural: 'virtualmachines' },
        versions: [
          { name: 'v1', served: true },
          { name: 'v1alpha3', served: false },
          { name: 'v1beta1' },
        ],
      },
    };
    expect(crdServedPaths(crd)).toEqual([
      { path: '/apis/kubevirt.io/v1', plural: 'virtualmachines' },
      { path: '/apis/kubevirt.io/v1beta1', plural: 'virtualmachines' },
    ]);
  });
});
