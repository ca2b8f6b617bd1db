// The list of VirtualMachineImages and ClusterVirtualMachineImages.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { ClusterVirtualMachineImage, VirtualMachineImage } from '../../resources';
import { readyColumn } from '../common';
import { InstallCheck } from '../InstallCheck';

export function ImageList() {
  const { t } = useTranslation();
  const imageColumns = [
    {
      id: 'os',
      label: t('OS'),
      getValue: (i: VirtualMachineImage) =>
        [i.spec.osInfo?.name, i.spec.osInfo?.version].filter(Boolean).join(' '),
    },
    { id: 'size', label: t('Size'), getValue: (i: VirtualMachineImage) => i.spec.size ?? '' },
    readyColumn(t('Ready')),
  ];
  return (
    <InstallCheck>
      <ResourceListView
        title={t('Cluster image library')}
        resourceClass={ClusterVirtualMachineImage}
        columns={['name', ...(imageColumns as never[]), 'age']}
      />
      <ResourceListView
        title={t('Namespace images')}
        resourceClass={VirtualMachineImage}
        columns={['name', 'namespace', ...(imageColumns as never[]), 'age']}
      />
    </InstallCheck>
  );
}
