import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { Link, ResourceListView } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Button } from '@mui/material';
import { useHistory } from 'react-router-dom';
import { displayStatus, formatSize, imageLabel } from '../logic/format';
import { ROUTES, VirtualMachine } from '../resources';
import { InstallCheck } from './InstallCheck';
import { useRouteUrl } from './routes';
import { VmStatusLabel } from './Status';

export function VmList() {
  const { t } = useTranslation();
  const history = useHistory();
  const url = useRouteUrl();
  return (
    <InstallCheck>
      <ResourceListView
        title={t('Virtual Machines')}
        resourceClass={VirtualMachine}
        headerProps={{
          titleSideActions: [
            <Button
              key="create"
              variant="contained"
              onClick={() => history.push(url(ROUTES.create))}
            >
              {t('Create VM')}
            </Button>,
          ],
        }}
        columns={[
          'name',
          'namespace',
          {
            id: 'status',
            label: t('Status'),
            // As wide as the longest status label, so ErrorUnschedulable is not cut.
            gridTemplate: 'min-content',
            getValue: (vm: VirtualMachine) => displayStatus(vm.jsonData),
            render: (vm: VirtualMachine) => <VmStatusLabel status={displayStatus(vm.jsonData)} />,
          },
          {
            id: 'class',
            label: t('Class'),
            getValue: (vm: VirtualMachine) => vm.spec.className ?? '',
            render: (vm: VirtualMachine) =>
              vm.spec.className ? (
                <Link routeName={ROUTES.class} params={{ name: vm.spec.className }}>
                  {vm.spec.className}
                </Link>
              ) : (
                '-'
              ),
          },
          { id: 'image', label: t('Image'), getValue: (vm: VirtualMachine) => imageLabel(vm.spec) },
          {
            id: 'ip',
            label: t('IP'),
            getValue: (vm: VirtualMachine) => vm.status?.primaryIP ?? '',
          },
          {
            id: 'node',
            label: t('Node'),
            getValue: (vm: VirtualMachine) => vm.status?.nodeName ?? '',
          },
          {
            id: 'size',
            label: t('vCPU / Memory'),
            getValue: (vm: VirtualMachine) =>
              formatSize(vm.status?.class?.cpus, vm.status?.class?.memory),
          },
          'age',
        ]}
      />
    </InstallCheck>
  );
}
