// The details page of VirtualMachineClasses.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { DetailsGrid } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { reservationOf } from '../../../../api/src/wellknown.ts';
import { formatMemory } from '../../logic/format';
import { VirtualMachineClass } from '../../resources';
import { Conditions } from '../common';

export function ClassDetails() {
  const { name } = useParams<{ name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={VirtualMachineClass}
      name={name}
      extraInfo={(c: VirtualMachineClass | null) =>
        c
          ? [
              { name: t('vCPU'), value: String(c.spec.hardware.cpus) },
              { name: t('Memory'), value: formatMemory(c.spec.hardware.memory) },
              { name: t('Reservation'), value: reservationOf(c) },
              { name: t('Description'), value: c.spec.description ?? '-' },
              {
                name: t('Namespaces'),
                value: c.spec.namespaceSelector
                  ? JSON.stringify(c.spec.namespaceSelector)
                  : t('all namespaces'),
              },
              {
                name: t('GPUs'),
                value:
                  (c.spec.hardware.devices?.gpus ?? [])
                    .map(g => `${g.count ?? 1}× ${g.deviceName}`)
                    .join(', ') || '-',
              },
            ]
          : []
      }
      extraSections={(c: VirtualMachineClass) =>
        c ? [{ id: 'vmplane.conditions', section: <Conditions item={c} /> }] : []
      }
    />
  );
}
