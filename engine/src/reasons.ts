// Every reason the local engine writes, where it writes it, and when: the table docs/engine.md
// shows (test/docs.test.ts checks the page holds exactly this table, and that each reason is
// written by the engine's code).

export interface Said {
  /** The object and field: "VMI Ready", "VM Failure", "DataVolume Running". */
  where: string;
  status: 'True' | 'False';
  reason: string;
  /** What the user sees on the VM (printableStatus), if it follows from it. */
  vm?: string;
  when: string;
}

export const SAID: readonly Said[] = [
  {
    where: 'VMI Ready',
    status: 'True',
    reason: '(none)',
    vm: 'Running',
    when: 'the guest runs and its readiness probe, if any, passed',
  },
  {
    where: 'VMI Ready',
    status: 'False',
    reason: 'PodNotExists',
    when: 'no guest process yet (the instance waits for a claim)',
  },
  {
    where: 'VMI Ready',
    status: 'False',
    reason: 'GuestNotRunning',
    when: 'the instance waits for room on this machine',
  },
  {
    where: 'VMI Ready',
    status: 'False',
    reason: 'ContainersNotReady',
    vm: 'Running',
    when: 'the readiness probe has not passed: guestAgentPing waits for the guest agent to answer guest-ping (the tiny Linux has none), exec is not run yet, tcpSocket and httpGet need a reachable guest',
  },
  {
    where: 'VMI Ready',
    status: 'False',
    reason: 'ReadinessGatesNotReady',
    vm: 'Paused',
    when: 'the guest is paused',
  },
  {
    where: 'VMI Ready',
    status: 'False',
    reason: 'PodTerminating',
    vm: 'Stopped',
    when: 'the guest is gone (Succeeded or Failed)',
  },
  {
    where: 'VMI Paused',
    status: 'True',
    reason: 'PausedByUser',
    vm: 'Paused',
    when: 'paused through the pause subresource, or started with start --paused',
  },
  {
    where: 'VMI Synchronized',
    status: 'False',
    reason: 'FailedPvcNotFound',
    vm: 'ErrorPvcNotFound',
    when: 'a claim the instance uses does not exist (it waits, Pending)',
  },
  {
    where: 'VMI PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    vm: 'ErrorUnschedulable',
    when: "no room: the engine's memory budget, its vCPU cap per VM, its cap on VMs at once, or its disk budget for a claim's disk",
  },
  {
    where: 'VMI Synchronized',
    status: 'False',
    reason: 'Synchronizing with the Domain failed.',
    when: 'QEMU refused to start or the guest crashed (the instance is Failed)',
  },
  {
    where: 'VMI LiveMigratable',
    status: 'False',
    reason: 'InterfaceNotLiveMigratable',
    when: 'its card on the pod network is not masquerade (bridge, the default, is not migratable)',
  },
  {
    where: 'VMI LiveMigratable',
    status: 'False',
    reason: 'DisksNotLiveMigratable',
    when: 'a claim is not ReadWriteMany (shared), or its claim is not known yet',
  },
  {
    where: 'VM Failure',
    status: 'True',
    reason: 'FailedCreate',
    vm: 'DataVolumeError',
    when: 'a DataVolume of its templates belongs to another VM',
  },
  {
    where: 'DataVolume Running',
    status: 'False',
    reason: 'Error',
    vm: 'DataVolumeError',
    when: "its importer failed (another host, a missing image, a claim too small): the DataVolume stays ImportInProgress and is retried with back-off, as CDI's importer pod is",
  },
];

/** The table as docs/engine.md shows it. */
export function saidTable(): string {
  const rows = SAID.map(
    (s) =>
      `| ${s.where} | ${s.status} | \`${s.reason}\` | ${s.vm ? `\`${s.vm}\`` : ''} | ${s.when} |`,
  );
  return [
    '| where | status | reason | the VM shows | when |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
