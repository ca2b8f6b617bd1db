// The address a guest took, as the engine sees it: QEMU records the first card's traffic (a pcap
// file, filter-dump) until the DHCP server's acknowledgement for the card's MAC went by.
import { open } from 'node:fs/promises';
import { dhcpAckAddress } from './dhcp-observe.ts';

/** The recording is read up to this size (the exchange comes first; the rest is not needed). */
const READ_AT_MOST = 1 << 20;

/** The address acknowledged to the card with `mac`, once the recording shows it. */
export async function observeDhcp(file: string, mac: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(READ_AT_MOST);
    const { bytesRead } = await handle.read(buf, 0, READ_AT_MOST, 0);
    return dhcpAckAddress(buf.subarray(0, bytesRead), mac);
  } finally {
    await handle.close();
  }
}
