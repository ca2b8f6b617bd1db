// The list of VirtualMachineClasses.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { reservationOf } from '../../../../api/src/wellknown.ts';
import { formatMemory } from '../../logic/format';
import { VirtualMachineClass } from '../../resources';
import { InstallCheck } from '../InstallCheck';

export function ClassList() {
  const { t } = useTranslation();
  return (
    <InstallCheck>
      <ResourceListView
        title={t('VM Classes')}
        resourceClass={VirtualMachineClass}
        columns={[
          'name',
          {
            id: 'cpus',
            label: t('vCPU'),
            getValue: (c: VirtualMachineClass) => c.spec.hardware.cpus,
          },
          {
            id: 'memory',
            label: t('Memory'),
            getValue: (c: VirtualMachineClass) => formatMemory(c.spec.hardware.memory),
          },
          {
            id: 'reservation',
            label: t('Reservation'),
            getValue: (c: VirtualMachineClass) => reservationOf(c),
          },
          {
            id: 'description',
            label: t('Description'),
            getValue: (c: VirtualMachineClass) => c.spec.description ?? '',
          },
          'age',
        ]}
      />
    </InstallCheck>
  );
}
