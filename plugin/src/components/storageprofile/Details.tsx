// The details page of StorageProfiles.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { DetailsGrid } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { profileView } from '../../logic/describe';
import { StorageProfile } from '../../resources';
import { Conditions } from '../common';

export function StorageProfileDetails() {
  const { name } = useParams<{ name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={StorageProfile}
      name={name}
      extraInfo={(p: StorageProfile | null) => {
        if (!p) return [];
        const v = profileView(p.jsonData);
        return [
          { name: t('Storage class'), value: p.status?.storageClass ?? p.getName() },
          { name: t('Provisioner'), value: p.status?.provisioner ?? '-' },
          { name: t('Inferred modes'), value: v.modes },
          { name: t('Clone strategy'), value: p.status?.cloneStrategy ?? '-' },
          {
            name: t('Recognized'),
            value: v.recognized
              ? t('yes')
              : `${t('no')} — ${v.message || t('set spec.claimPropertySets on this profile')}`,
          },
          {
            name: t('Overrides (spec)'),
            value: p.spec.claimPropertySets ? JSON.stringify(p.spec.claimPropertySets) : '-',
          },
        ];
      }}
      extraSections={(p: StorageProfile) =>
        p ? [{ id: 'vmplane.conditions', section: <Conditions item={p} /> }] : []
      }
    />
  );
}
