// Every kind of the vmplane.io/v1alpha1 API, in the order the CRDs are listed.
import type { KindDefinition } from '../kind.ts';
import { clusterVirtualMachineImage, virtualMachineImage } from './images.ts';
import { network, networkAddress } from './network.ts';
import { virtualMachinePolicy, virtualMachinePolicyException } from './policy.ts';
import { storageProfile } from './storageprofile.ts';
import { virtualMachine } from './virtualmachine.ts';
import { virtualMachineClass } from './virtualmachineclass.ts';
import { virtualMachineDisk } from './virtualmachinedisk.ts';
import { policyReport } from '../thirdparty/policyreport.ts';
import { networkAttachmentDefinition } from '../thirdparty/nad.ts';
import { virtualMachineService } from './vmservice.ts';

export const kinds: readonly KindDefinition[] = [
  virtualMachine,
  virtualMachineClass,
  virtualMachineImage,
  clusterVirtualMachineImage,
  virtualMachineDisk,
  storageProfile,
  virtualMachinePolicy,
  virtualMachinePolicyException,
  network,
  networkAddress,
  virtualMachineService,
];

/** Other projects' kinds vmplane installs when absent. */
export const thirdPartyKinds: readonly KindDefinition[] = [
  policyReport,
  networkAttachmentDefinition,
];

export const allKinds: readonly KindDefinition[] = [...kinds, ...thirdPartyKinds];
