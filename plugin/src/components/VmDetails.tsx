import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import {
  ConditionsTable,
  DetailsGrid,
  Link,
  SectionBox,
  SimpleTable,
  StatusLabel,
} from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { useParams } from 'react-router-dom';
import { guestOSLabel } from '../../../api/src/guest.ts';
import { interfaceRows, POD_NETWORK } from '../../../api/src/network-view.ts';
import { displayStatus, formatSize, imageLabel } from '../logic/format';
import { resultsForVm } from '../logic/policy';
import { PolicyReport, ROUTES, VirtualMachine } from '../resources';
import { VmConsole } from './Console';
import { AgentLabel } from './GuestAgent';
import { InstallCheck } from './InstallCheck';
import { VmStatusLabel } from './Status';
import { VmActions } from './VmActions';

export function VmDetails() {
  const { namespace, name } = useParams<{ namespace: string; name: string }>();
  const { t } = useTranslation();
  return (
    <InstallCheck>
      <DetailsGrid
        resourceType={VirtualMachine}
        name={name}
        namespace={namespace}
        withEvents
        actions={(vm: VirtualMachine | null) => (vm ? [<VmActions key="power" vm={vm} />] : [])}
        extraInfo={(vm: VirtualMachine | null) =>
          vm
            ? [
                { name: t('Status'), value: <VmStatusLabel status={displayStatus(vm.jsonData)} /> },
                { name: t('Power state'), value: vm.spec.powerState ?? 'PoweredOn' },
                {
                  name: t('Class'),
                  value: vm.spec.className ? (
                    <>
                      <Link routeName={ROUTES.class} params={{ name: vm.spec.className }}>
                        {vm.spec.className}
                      </Link>
                      {vm.status?.class
                        ? ` — ${formatSize(vm.status.class.cpus, vm.status.class.memory)}, ${
                            vm.status.class.reservation ?? ''
                          }`
                        : ''}
                    </>
                  ) : (
                    '-'
                  ),
                },
                {
                  name: t('Restart pending'),
                  value: t('The class changed; it applies at the next power cycle.'),
                  hide: !vm.status?.restartPending,
                },
                { name: t('Image'), value: imageLabel(vm.spec) },
                {
                  name: t('IP addresses'),
                  value: (vm.status?.ipAddresses ?? [vm.status?.primaryIP ?? '-']).join(', '),
                },
                { name: t('Node'), value: vm.status?.nodeName ?? '-' },
                {
                  name: t('Guest OS'),
                  value:
                    guestOSLabel(vm.status?.guestOS) ||
                    t('unknown (the guest agent has not reported)'),
                },
                {
                  name: t('Kernel'),
                  value: vm.status?.guestOS?.kernel,
                  hide: !vm.status?.guestOS?.kernel,
                },
                { name: t('Guest agent'), value: <AgentLabel vm={vm} /> },
              ]
            : []
        }
        extraSections={(vm: VirtualMachine) =>
          vm
            ? [
                { id: 'vmplane.conditions', section: <ConditionsSection vm={vm} /> },
                { id: 'vmplane.disks', section: <DisksSection vm={vm} /> },
                { id: 'vmplane.network', section: <NetworkSection vm={vm} /> },
                { id: 'vmplane.policy', section: <PolicySection vm={vm} /> },
                { id: 'vmplane.console', section: <VmConsole vm={vm} /> },
              ]
            : []
        }
      />
    </InstallCheck>
  );
}

function ConditionsSection({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  return (
    <SectionBox title={t('Conditions')}>
      <ConditionsTable resource={vm.jsonData} showLastUpdate={false} />
    </SectionBox>
  );
}

function DisksSection({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const rows = [
    ...(vm.spec.image
      ? [
          {
            name: 'boot',
            source: `${t('image')} ${imageLabel(vm.spec)}`,
            size: vm.spec.bootDisk?.size ?? t('image size'),
            storage: vm.spec.bootDisk?.storageClassName ?? '-',
            modes:
              [vm.spec.bootDisk?.accessModes?.join(', '), vm.spec.bootDisk?.volumeMode]
                .filter(Boolean)
                .join(' / ') || '-',
          },
        ]
      : []),
    ...(vm.spec.disks ?? []).map(d => ({
      name: d.name + (d.boot ? ` (${t('boot')})` : ''),
      source: d.virtualMachineDiskName
        ? `${t('disk')} ${d.virtualMachineDiskName}`
        : t('new empty disk'),
      size: d.size ?? '-',
      storage: d.storageClassName ?? '-',
      modes: [d.accessModes?.join(', '), d.volumeMode].filter(Boolean).join(' / ') || '-',
      diskName: d.virtualMachineDiskName,
    })),
  ];
  return (
    <SectionBox title={t('Disks')}>
      <SimpleTable
        emptyMessage={t('No disks')}
        data={rows}
        columns={[
          { label: t('Name'), getter: (r: (typeof rows)[number]) => r.name },
          {
            label: t('Source'),
            getter: (r: (typeof rows)[number] & { diskName?: string }) =>
              r.diskName ? (
                <Link
                  routeName={ROUTES.disk}
                  params={{ namespace: vm.getNamespace() ?? '', name: r.diskName }}
                >
                  {r.source}
                </Link>
              ) : (
                r.source
              ),
          },
          { label: t('Size'), getter: (r: (typeof rows)[number]) => r.size },
          { label: t('Storage class'), getter: (r: (typeof rows)[number]) => r.storage },
          { label: t('Access / volume mode'), getter: (r: (typeof rows)[number]) => r.modes },
        ]}
      />
    </SectionBox>
  );
}

/** One row per interface: network, MAC, the allocated IP and the IPs the guest was seen with. */
function NetworkSection({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const rows = interfaceRows(vm.jsonData as never).map(r => ({
    ...r,
    network: r.network === POD_NETWORK ? t('pod network') : r.network,
  }));
  type Row = (typeof rows)[number];
  return (
    <SectionBox title={t('Network interfaces')}>
      <SimpleTable
        data={rows}
        columns={[
          { label: t('Interface'), getter: (r: Row) => r.name },
          { label: t('Network'), getter: (r: Row) => r.network },
          { label: t('MAC'), getter: (r: Row) => r.mac || '-' },
          { label: t('IP (allocated)'), getter: (r: Row) => r.ip || '-' },
          { label: t('IPs seen'), getter: (r: Row) => r.observed.split(',').join(', ') || '-' },
        ]}
      />
    </SectionBox>
  );
}

function PolicySection({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const { items } = PolicyReport.useList({ namespace: vm.getNamespace() });
  const rows = resultsForVm(
    (items ?? []).map((r: PolicyReport) => r.jsonData as never),
    { name: vm.getName(), namespace: vm.getNamespace() ?? '', uid: vm.metadata.uid }
  );
  const colour = (r: string) =>
    r === 'pass' ? 'success' : r === 'warn' ? 'warning' : r === 'skip' ? '' : 'error';
  return (
    <SectionBox title={t('Policy results')}>
      <SimpleTable
        emptyMessage={t('No policy results for this VM yet (the audit runs in the background).')}
        data={rows}
        columns={[
          {
            label: t('Policy'),
            getter: (r: (typeof rows)[number]) => (
              <Link routeName={ROUTES.policy} params={{ name: r.policy }}>
                {r.policy}
              </Link>
            ),
          },
          { label: t('Rule'), getter: (r: (typeof rows)[number]) => r.rule },
          {
            label: t('Result'),
            getter: (r: (typeof rows)[number]) => (
              <StatusLabel status={colour(r.result)}>{r.result}</StatusLabel>
            ),
          },
          { label: t('Message'), getter: (r: (typeof rows)[number]) => r.message },
        ]}
      />
    </SectionBox>
  );
}
