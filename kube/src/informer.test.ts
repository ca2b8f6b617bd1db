import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { dropCrdSchemas, dropManagedFields, dropStatus, LAST_APPLIED } from './informer.ts';

describe('what caches keep', () => {
  it("drops managedFields and kubectl's last-applied copy, and nothing else", () => {
    const vm = {
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'VirtualMachine',
      metadata: {
        name: 'web',
        namespace: 'a',
        resourceVersion: '7',
        finalizers: ['vmplane.io/vm-cleanup'],
        managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
        annotations: { [LAST_APPLIED]: '{"a huge":"copy"}', team: 'web' },
      },
      spec: { className: 'small' },
    } as KubernetesObject;
    dropManagedFields(vm);
    expect(vm).toEqual({
      apiVersion: 'vmplane.io/v1alpha1',
      kind: 'VirtualMachine',
      metadata: {
        name: 'web',
        namespace: 'a',
        resourceVersion: '7',
        finalizers: ['vmplane.io/vm-cleanup'],
        annotations: { team: 'web' },
      },
      spec: { className: 'small' },
    });
  });

  it("drops a VM's status for caches that never read it", () => {
    const vm = {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { className: 'small', disks: [{ name: 'd', virtualMachineDiskName: 'data' }] },
      status: { conditions: [{ type: 'Ready', message: 'a long message' }] },
    } as KubernetesObject;
    dropStatus(vm);
    expect(vm).toEqual({
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { className: 'small', disks: [{ name: 'd', virtualMachineDiskName: 'data' }] },
    });
  });

  it('drops CRD schemas but keeps names, versions and the Established condition', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'virtualmachines.kubevirt.io' },
      spec: {
        group: 'kubevirt.io',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object' } },
          },
          { name: 'v1alpha3', served: true, storage: false },
        ],
      },
      status: { conditions: [{ type: 'Established', status: 'True' }] },
    } as KubernetesObject;
    dropCrdSchemas(crd);
    expect(crd).toEqual({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'virtualmachines.kubevirt.io' },
      spec: {
        group: 'kubevirt.io',
        versions: [
          { name: 'v1', served: true, storage: true },
          { name: 'v1alpha3', served: true, storage: false },
        ],
      },
      status: { conditions: [{ type: 'Established', status: 'True' }] },
    });
  });
});
