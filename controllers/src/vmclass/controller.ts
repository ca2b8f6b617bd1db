// VirtualMachineClass controller: says on each class whether the cluster's KubeVirt lets VMs have
// its GPUs and host devices (DevicesPermitted), so administrators see it before a VM is stuck.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VirtualMachineClass } from '../../../api/generated/types.ts';
import { ClassConditions } from '../../../api/src/wellknown.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { writeStatus } from '../../../kube/src/objects.ts';
import {
  activeKubeVirt,
  devicesCheck,
  type KubeVirtCr,
} from '../../../decisions/src/kubevirt-install.ts';

const CLASSES = '/apis/vmplane.io/v1alpha1/virtualmachineclasses';
export const KUBEVIRTS = '/apis/kubevirt.io/v1/kubevirts';

type Condition = NonNullable<NonNullable<VirtualMachineClass['status']>['conditions']>[number];

/** The class's status: DevicesPermitted from the KubeVirt CR VMs go to. */
export function classStatus(
  klass: VirtualMachineClass,
  kubevirts: readonly KubeVirtCr[],
  now: string,
): NonNullable<VirtualMachineClass['status']> {
  const check = devicesCheck(klass.spec.hardware.devices, activeKubeVirt(kubevirts));
  const unknown = check.reason === 'EngineUnknown';
  const generation = klass.metadata.generation ?? 0;
  const others = (klass.status?.conditions ?? []).filter(
    (c) => c.type !== ClassConditions.DevicesPermitted,
  );
  const condition = withTransitionTime<Condition>(
    klass.status?.conditions,
    {
      type: ClassConditions.DevicesPermitted,
      status: unknown ? 'Unknown' : check.ok ? 'True' : 'False',
      reason: check.reason,
      message: check.message,
      observedGeneration: generation,
    },
    now,
  );
  return { observedGeneration: generation, conditions: [...others, condition] };
}

export function vmClassController(manager: Manager): ControllerDefinition {
  const classes = manager.informer<VirtualMachineClass & KubernetesObject>(CLASSES);
  const kubevirts = manager.informer<KubeVirtCr & KubernetesObject>(KUBEVIRTS, { optional: true });
  const all = (): string[] =>
    classes
      .list()
      .filter((c) => manager.inScope(c))
      .map((c) => c.metadata?.name ?? '');
  return {
    name: 'virtualmachineclass',
    watches: [
      { path: CLASSES, keys: (o) => (manager.inScope(o) ? [o.metadata?.name ?? ''] : []) },
      { path: KUBEVIRTS, keys: () => all() },
    ],
    allKeys: all,
    reconcile: async (name) => {
      const klass = classes.get(name) as VirtualMachineClass | undefined;
      if (!klass || !manager.inScope(klass as KubernetesObject)) return;
      const status = classStatus(klass, kubevirts.list() as KubeVirtCr[], new Date().toISOString());
      await writeStatus(manager.rest, `${CLASSES}/${name}`, klass.status, status);
    },
  };
}
