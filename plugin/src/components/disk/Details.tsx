// The details page of VirtualMachineDisks.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { DetailsGrid, Link } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { diskSourceLabel } from '../../logic/format';
import { ROUTES, VirtualMachineDisk } from '../../resources';
import { Conditions } from '../common';

export function DiskDetails() {
  const { namespace, name } = useParams<{ namespace: string; name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={VirtualMachineDisk}
      name={name}
      namespace={namespace}
      withEvents
      extraInfo={(d: VirtualMachineDisk | null) =>
        d
          ? [
              { name: t('Phase'), value: d.status?.phase ?? '-' },
              { name: t('Progress'), value: d.status?.progress ?? '-', hide: !d.status?.progress },
              {
                name: t('Importer restarts'),
                value: String(d.status?.restarts ?? 0),
                hide: !d.status?.restarts,
              },
              {
                name: t('Source'),
                value: d.spec.source?.disk ? (
                  <Link
                    routeName={ROUTES.disk}
                    params={{ namespace: d.getNamespace() ?? '', name: d.spec.source.disk.name }}
                  >
                    {diskSourceLabel(d.spec)}
                  </Link>
                ) : (
                  diskSourceLabel(d.spec)
                ),
              },
              { name: t('Requested size'), value: d.spec.size },
              { name: t('Capacity'), value: d.status?.capacity ?? '-' },
              { name: t('Storage class'), value: d.spec.storageClassName ?? '-' },
              { name: t('Access modes'), value: d.spec.accessModes?.join(', ') ?? '-' },
              { name: t('Volume mode'), value: d.spec.volumeMode ?? '-' },
              { name: t('Claim'), value: d.status?.claimName ?? '-' },
              {
                name: t('Attached to'),
                value: d.status?.attachedTo ? (
                  <Link
                    routeName={ROUTES.vm}
                    params={{ namespace: d.getNamespace() ?? '', name: d.status.attachedTo }}
                  >
                    {d.status.attachedTo}
                  </Link>
                ) : (
                  '-'
                ),
              },
            ]
          : []
      }
      extraSections={(d: VirtualMachineDisk) =>
        d ? [{ id: 'vmplane.conditions', section: <Conditions item={d} /> }] : []
      }
    />
  );
}
