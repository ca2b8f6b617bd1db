// The list of Networks: type, VLAN, CIDR, the static pool's usage and which namespaces may use each.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { networkRow } from '../../logic/networks';
import { Network } from '../../resources';
import { InstallCheck } from '../InstallCheck';

/** One column of networkRow's, by its index there. */
const column = (id: string, label: string, index: number) => ({
  id,
  label,
  getValue: (n: Network) => networkRow(n.jsonData)[index] ?? '',
});

export function NetworkList() {
  const { t } = useTranslation();
  return (
    <InstallCheck>
      <ResourceListView
        title={t('Networks')}
        resourceClass={Network}
        columns={[
          // No details page of its own: the row says it all (kubectl get vmnet NAME -o yaml for more).
          { id: 'name', label: t('Name'), getValue: (n: Network) => n.getName() },
          column('type', t('Type'), 0),
          column('vlan', t('VLAN'), 1),
          column('cidr', t('CIDR'), 2),
          column('allocated', t('Allocated'), 3),
          column('free', t('Free'), 4),
          column('namespaces', t('Namespaces'), 5),
          'age',
        ]}
      />
    </InstallCheck>
  );
}
