// What a StorageProfile's status should say, from its StorageClass and the administrator's spec.
import {
  provisionerCapabilities,
  type ClaimPropertySet,
  type CloneStrategy,
} from '../../../api/src/provisioners.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';
import { StorageProfileConditions } from '../../../api/src/wellknown.ts';

export interface ProfileInputs {
  storageClass: { name: string; provisioner: string; parameters?: Record<string, string> };
  spec?: { claimPropertySets?: ClaimPropertySet[]; cloneStrategy?: CloneStrategy };
  generation: number;
  previousConditions?: { type: string; status: string; lastTransitionTime: string }[];
  now: string;
}

export interface ProfileStatus {
  observedGeneration: number;
  storageClass: string;
  provisioner: string;
  claimPropertySets: ClaimPropertySet[];
  cloneStrategy: CloneStrategy;
  conditions: {
    type: 'Recognized';
    status: 'True' | 'False';
    reason: string;
    message: string;
    lastTransitionTime: string;
    observedGeneration: number;
  }[];
}

export function fixHint(name: string): string {
  return `set spec.claimPropertySets to the access and volume modes the storage supports, best first, for example: kubectl patch storageprofile.vmplane.io ${name} --type merge -p '{"spec":{"claimPropertySets":[{"accessModes":["ReadWriteOnce"],"volumeMode":"Filesystem"}]}}'`;
}

export function profileStatus(i: ProfileInputs): ProfileStatus {
  const known = provisionerCapabilities(i.storageClass.provisioner, i.storageClass.parameters);
  const override = i.spec?.claimPropertySets?.length ? i.spec.claimPropertySets : undefined;
  const sets = override ?? known?.claimPropertySets ?? [];
  let condition: { status: 'True' | 'False'; reason: string; message: string };
  if (override)
    condition = {
      status: 'True',
      reason: 'SpecOverride',
      message: 'access and volume modes set by an administrator in spec.claimPropertySets',
    };
  else if (known)
    condition = {
      status: 'True',
      reason: 'KnownProvisioner',
      message: `access and volume modes known for provisioner ${i.storageClass.provisioner}`,
    };
  else {
    condition = {
      status: 'False',
      reason: 'UnrecognizedProvisioner',
      message: `provisioner ${i.storageClass.provisioner} is not known to vmplane, so disks on StorageClass ${i.storageClass.name} that give no access and volume mode are refused: ${fixHint(i.storageClass.name)}`,
    };
  }
  return {
    observedGeneration: i.generation,
    storageClass: i.storageClass.name,
    provisioner: i.storageClass.provisioner,
    claimPropertySets: sets,
    cloneStrategy: i.spec?.cloneStrategy ?? known?.cloneStrategy ?? 'copy',
    conditions: [
      withTransitionTime(
        i.previousConditions,
        {
          type: StorageProfileConditions.Recognized,
          ...condition,
          observedGeneration: i.generation,
        },
        i.now,
      ),
    ],
  };
}
