// What the QEMU guest agent reports about the guest's operating system, as vmplane's VM status
// carries it (KubeVirt's VMI status.guestOSInfo, field for field).
import type { Schema } from '../schema.ts';
import { obj, str } from '../schema.ts';

export function guestOS(): Schema {
  return obj(
    "What the guest agent reports about the operating system (KubeVirt's VMI status.guestOSInfo, from the agent's guest-get-osinfo). Shown only while the agent is connected (condition AgentConnected): a report from an agent that no longer answers is not claimed.",
    {
      name: str('Operating system name, for example Debian GNU/Linux.', { maxLength: 128 }),
      prettyName: str(
        'The name to show people, for example Debian GNU/Linux 12 (bookworm) (PRETTY_NAME of os-release).',
        { maxLength: 256 },
      ),
      id: str('Operating system identifier, for example debian (ID of os-release).', {
        maxLength: 128,
      }),
      version: str('Operating system version, for example 12 (bookworm).', { maxLength: 128 }),
      versionId: str('Version identifier, for example 12 (VERSION_ID of os-release).', {
        maxLength: 128,
      }),
      kernel: str('Kernel release, for example 6.1.0-31-amd64.', { maxLength: 128 }),
      kernelVersion: str('Kernel version (build string), as uname -v prints it.', {
        maxLength: 256,
      }),
      machine: str('Machine hardware name, for example x86_64.', { maxLength: 64 }),
    },
  );
}
