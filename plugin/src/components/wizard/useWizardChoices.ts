import { K8s } from '@kinvolk/headlamp-plugin/lib';
import { useMemo } from 'react';
import { networkChoices } from '../../logic/networks';
import { classesForNamespace, imageChoices, type WizardState } from '../../logic/wizard';
import {
  ClusterVirtualMachineImage,
  Network,
  VirtualMachineClass,
  VirtualMachineImage,
} from '../../resources';

/**
 * What the wizard offers: namespaces, the classes, images and networks the namespace may use,
 * storage classes.
 */
export function useWizardChoices(s: WizardState) {
  const [namespaces] = K8s.ResourceClasses.Namespace.useList();
  const [classes] = VirtualMachineClass.useList();
  const [nsImages] = VirtualMachineImage.useList({ namespace: s.namespace || undefined });
  const [clusterImages] = ClusterVirtualMachineImage.useList();
  const [storageClasses] = K8s.ResourceClasses.StorageClass.useList();
  // Where Networks are not served (an older vmplane) or may not be listed, the pod network only.
  const [networks] = Network.useList();

  const ns = (namespaces ?? []).find((n: { getName(): string }) => n.getName() === s.namespace);
  // The namespace from the URL stays a choice while the list loads, and when the user may not
  // list namespaces at all (RBAC often allows a team its own namespace and no more).
  const namespaceChoices = useMemo(() => {
    const names = (namespaces ?? []).map((n: { getName(): string }) => n.getName());
    return s.namespace && !names.includes(s.namespace) ? [s.namespace, ...names] : names;
  }, [namespaces, s.namespace]);
  const availableClasses = useMemo(
    () =>
      classesForNamespace(
        (classes ?? []).map((c: VirtualMachineClass) => c.jsonData as never),
        ns?.metadata.labels
      ),
    [classes, ns]
  );
  const images = useMemo(
    () =>
      imageChoices(
        (nsImages ?? [])
          .filter((i: VirtualMachineImage) => i.getNamespace() === s.namespace)
          .map((i: VirtualMachineImage) => i.jsonData as never),
        (clusterImages ?? []).map((i: ClusterVirtualMachineImage) => i.jsonData as never)
      ),
    [nsImages, clusterImages, s.namespace]
  );
  const storageClassNames: string[] = (storageClasses ?? []).map((sc: { getName(): string }) =>
    sc.getName()
  );
  const availableNetworks = useMemo(
    () =>
      networkChoices(
        (networks ?? []).map((n: Network) => n.jsonData as never),
        ns?.metadata.labels
      ),
    [networks, ns]
  );
  return { namespaceChoices, availableClasses, images, storageClassNames, availableNetworks };
}
