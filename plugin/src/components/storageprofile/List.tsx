// The list of StorageProfiles.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ResourceListView, StatusLabel } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { profileView } from '../../logic/describe';
import { StorageProfile } from '../../resources';
import { InstallCheck } from '../InstallCheck';

export function StorageProfileList() {
  const { t } = useTranslation();
  return (
    <InstallCheck>
      <ResourceListView
        title={t('Storage Profiles')}
        resourceClass={StorageProfile}
        columns={[
          'name',
          {
            id: 'provisioner',
            label: t('Provisioner'),
            getValue: (p: StorageProfile) => p.status?.provisioner ?? '',
          },
          {
            id: 'modes',
            label: t('Access / volume modes'),
            getValue: (p: StorageProfile) => profileView(p.jsonData).modes,
          },
          {
            id: 'recognized',
            label: t('Recognized'),
            getValue: (p: StorageProfile) => (profileView(p.jsonData).recognized ? 'yes' : 'no'),
            render: (p: StorageProfile) =>
              profileView(p.jsonData).recognized ? (
                <StatusLabel status="success">{t('Recognized')}</StatusLabel>
              ) : (
                <StatusLabel status="warning">{t('Needs settings')}</StatusLabel>
              ),
          },
          {
            id: 'clone',
            label: t('Clone strategy'),
            getValue: (p: StorageProfile) => p.status?.cloneStrategy ?? '',
          },
          'age',
        ]}
      />
    </InstallCheck>
  );
}
