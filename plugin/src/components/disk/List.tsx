// The list of VirtualMachineDisks.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { VirtualMachineDisk } from '../../resources';
import { InstallCheck } from '../InstallCheck';

export function DiskList() {
  const { t } = useTranslation();
  return (
    <InstallCheck>
      <ResourceListView
        title={t('VM Disks')}
        resourceClass={VirtualMachineDisk}
        columns={[
          'name',
          'namespace',
          {
            id: 'phase',
            label: t('Phase'),
            getValue: (d: VirtualMachineDisk) => d.status?.phase ?? '',
          },
          {
            id: 'size',
            label: t('Size'),
            getValue: (d: VirtualMachineDisk) => d.status?.capacity ?? d.spec.size,
          },
          {
            id: 'storageClass',
            label: t('Storage class'),
            getValue: (d: VirtualMachineDisk) => d.spec.storageClassName ?? '',
          },
          {
            id: 'attachedTo',
            label: t('Attached to'),
            getValue: (d: VirtualMachineDisk) => d.status?.attachedTo ?? '',
          },
          'age',
        ]}
      />
    </InstallCheck>
  );
}
