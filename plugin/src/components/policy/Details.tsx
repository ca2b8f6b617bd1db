// The details page of VirtualMachinePolicies and their reports.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import {
  DetailsGrid,
  SectionBox,
  SimpleTable,
} from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { policyRules } from '../../logic/describe';
import { VirtualMachinePolicy } from '../../resources';
import { Conditions } from '../common';

export function PolicyDetails() {
  const { name } = useParams<{ name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={VirtualMachinePolicy}
      name={name}
      extraInfo={(p: VirtualMachinePolicy | null) =>
        p
          ? [
              { name: t('Description'), value: p.spec.description ?? '-' },
              { name: t('Modes'), value: p.spec.validationActions.join(', ') },
              { name: t('Violations'), value: String(p.status?.violations?.failed ?? 0) },
              { name: t('Excepted'), value: String(p.status?.violations?.excepted ?? 0) },
              { name: t('Audited VMs'), value: String(p.status?.violations?.audited ?? 0) },
              { name: t('Last audit'), value: p.status?.lastAuditTime ?? '-' },
            ]
          : []
      }
      extraSections={(p: VirtualMachinePolicy) =>
        p
          ? [
              {
                id: 'vmplane.rules',
                section: (
                  <SectionBox title={t('Rules')}>
                    <SimpleTable
                      data={policyRules(p.spec)}
                      columns={[
                        { label: t('Rule'), getter: (r: { rule: string }) => r.rule },
                        { label: t('Setting'), getter: (r: { detail: string }) => r.detail },
                      ]}
                    />
                  </SectionBox>
                ),
              },
              { id: 'vmplane.conditions', section: <Conditions item={p} /> },
            ]
          : []
      }
    />
  );
}
