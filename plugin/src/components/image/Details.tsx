// The details page of VirtualMachineImages and ClusterVirtualMachineImages.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { DetailsGrid } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { ClusterVirtualMachineImage, VirtualMachineImage } from '../../resources';
import { Conditions } from '../common';

function imageInfo(t: (s: string) => string) {
  return (i: VirtualMachineImage | ClusterVirtualMachineImage | null) =>
    i
      ? [
          { name: t('Description'), value: i.spec.description ?? '-' },
          { name: t('Source'), value: JSON.stringify(i.spec.source) },
          {
            name: t('OS'),
            value: [i.spec.osInfo?.name, i.spec.osInfo?.version].filter(Boolean).join(' ') || '-',
          },
          { name: t('Size'), value: i.spec.size ?? '-' },
        ]
      : [];
}

export function ImageDetails() {
  const { namespace, name } = useParams<{ namespace: string; name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={VirtualMachineImage}
      name={name}
      namespace={namespace}
      extraInfo={imageInfo(t)}
      extraSections={(i: VirtualMachineImage) =>
        i ? [{ id: 'vmplane.conditions', section: <Conditions item={i} /> }] : []
      }
    />
  );
}

export function ClusterImageDetails() {
  const { name } = useParams<{ name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={ClusterVirtualMachineImage}
      name={name}
      extraInfo={imageInfo(t)}
      extraSections={(i: ClusterVirtualMachineImage) =>
        i ? [{ id: 'vmplane.conditions', section: <Conditions item={i} /> }] : []
      }
    />
  );
}
