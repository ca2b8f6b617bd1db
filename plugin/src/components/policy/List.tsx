// The list of VirtualMachinePolicies and their reports.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { policyRules } from '../../logic/describe';
import { PolicyReport, VirtualMachinePolicy } from '../../resources';
import { readyColumn } from '../common';
import { InstallCheck } from '../InstallCheck';

export function PolicyList() {
  const { t } = useTranslation();
  return (
    <InstallCheck>
      <ResourceListView
        title={t('VM Policies')}
        resourceClass={VirtualMachinePolicy}
        columns={[
          'name',
          {
            id: 'modes',
            label: t('Modes'),
            getValue: (p: VirtualMachinePolicy) => p.spec.validationActions.join(', '),
          },
          {
            id: 'rules',
            label: t('Rules'),
            getValue: (p: VirtualMachinePolicy) =>
              policyRules(p.spec)
                .map(r => r.rule)
                .join(', '),
          },
          {
            id: 'violations',
            label: t('Violations'),
            getValue: (p: VirtualMachinePolicy) => p.status?.violations?.failed ?? 0,
          },
          {
            id: 'audited',
            label: t('Audited VMs'),
            getValue: (p: VirtualMachinePolicy) => p.status?.violations?.audited ?? 0,
          },
          readyColumn(t('Ready')),
          'age',
        ]}
      />
      <ResourceListView
        title={t('Policy Reports')}
        resourceClass={PolicyReport}
        columns={[
          'name',
          'namespace',
          {
            id: 'pass',
            label: t('Pass'),
            getValue: (r: PolicyReport) => r.jsonData.summary?.pass ?? 0,
          },
          {
            id: 'fail',
            label: t('Fail'),
            getValue: (r: PolicyReport) => r.jsonData.summary?.fail ?? 0,
          },
          {
            id: 'warn',
            label: t('Warn'),
            getValue: (r: PolicyReport) => r.jsonData.summary?.warn ?? 0,
          },
          'age',
        ]}
      />
    </InstallCheck>
  );
}
