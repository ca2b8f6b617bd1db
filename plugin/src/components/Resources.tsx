// Lists and details of classes, images, disks, storage profiles and policies.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import {
  ConditionsTable,
  DetailsGrid,
  Link,
  ResourceListView,
  SectionBox,
  SimpleTable,
  StatusLabel,
} from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { policyRules, profileView } from '../logic/describe';
import { formatMemory } from '../logic/format';
import {
  ClusterVirtualMachineImage,
  PolicyReport,
  ROUTES,
  StorageProfile,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
  VirtualMachinePolicy,
} from '../resources';
import { InstallCheck } from './InstallCheck';
import { ReadyLabel } from './Status';
import { reservationOf } from '../../../api/src/wellknown.ts';

type Conditioned = {
  jsonData: { status?: { conditions?: { type: string; status: string; reason?: string }[] } };
};
const readyColumn = (label: string) => ({
  id: 'ready',
  label,
  getValue: (o: Conditioned) =>
    o.jsonData.status?.conditions?.find(c => c.type === 'Ready')?.status ?? '',
  render: (o: Conditioned) => <ReadyLabel conditions={o.jsonData.status?.conditions} />,
});

function Conditions({ item }: { item: { jsonData: object } }) {
  const { t } = useTranslation();
  return (
    <SectionBox title={t('Conditions')}>
      <ConditionsTable resource={item.jsonData as never} showLastUpdate={false} />
    </SectionBox>
  );
}

// Classes

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

// Images (namespace library and cluster library)

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

function imageInfo(t: (s: string) => string) {
  return (i: VirtualMachineImage | ClusterVirtualMachineImage | null) =>
    i
      ? [
          { name: t('Description'), value: i.spec.description ?? '-' },
          { name: t('Source'), value: JSON.stringify(i.spec.source) },
          {
            name: t('OS'),
            value: [i.spec.osInfo?.name, i.spec.osInfo?.version].filter(Boolean).join(' ') || '-',
          },
          { name: t('Size'), value: i.spec.size ?? '-' },
        ]
      : [];
}

export function ImageDetails() {
  const { namespace, name } = useParams<{ namespace: string; name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={VirtualMachineImage}
      name={name}
      namespace={namespace}
      extraInfo={imageInfo(t)}
      extraSections={(i: VirtualMachineImage) =>
        i ? [{ id: 'vmplane.conditions', section: <Conditions item={i} /> }] : []
      }
    />
  );
}

export function ClusterImageDetails() {
  const { name } = useParams<{ name: string }>();
  const { t } = useTranslation();
  return (
    <DetailsGrid
      resourceType={ClusterVirtualMachineImage}
      name={name}
      extraInfo={imageInfo(t)}
      extraSections={(i: ClusterVirtualMachineImage) =>
        i ? [{ id: 'vmplane.conditions', section: <Conditions item={i} /> }] : []
      }
    />
  );
}

// Disks

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

// Storage profiles

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

// Policies and their reports

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
