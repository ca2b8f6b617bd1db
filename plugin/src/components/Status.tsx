import { StatusLabel } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { statusColour } from '../logic/format';

export function VmStatusLabel({ status }: { status: string }) {
  return (
    <StatusLabel status={statusColour(status)} data-testid="vm-status">
      {status}
    </StatusLabel>
  );
}

/** Ready condition of a vmplane object as a coloured label. */
export function ReadyLabel({
  conditions,
}: {
  conditions?: { type: string; status: string; reason?: string }[];
}) {
  const ready = conditions?.find(c => c.type === 'Ready');
  if (!ready) return <StatusLabel status="">-</StatusLabel>;
  return (
    <StatusLabel
      status={ready.status === 'True' ? 'success' : ready.status === 'False' ? 'error' : 'warning'}
    >
      {ready.status === 'True' ? 'Ready' : ready.reason || 'NotReady'}
    </StatusLabel>
  );
}
