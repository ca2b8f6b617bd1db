import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { StatusLabel } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { agentState } from '../../../api/src/guest.ts';
import { VirtualMachine } from '../resources';

/** Whether the QEMU guest agent answers (the VM's AgentConnected condition), and why not. */
export function AgentLabel({ vm }: { vm: VirtualMachine }) {
  const { t } = useTranslation();
  const state = agentState(vm.status);
  const why = vm.status?.conditions?.find(c => c.type === 'AgentConnected')?.message;
  const label = {
    connected: t('Connected'),
    'not connected': t('Not connected'),
    'not running': t('VM not running'),
    unknown: t('Unknown'),
  }[state];
  return (
    <span title={why}>
      <StatusLabel
        status={state === 'connected' ? 'success' : state === 'not connected' ? 'warning' : ''}
      >
        {label}
      </StatusLabel>
      {state === 'not connected' && why ? ` ${why}` : ''}
    </span>
  );
}
