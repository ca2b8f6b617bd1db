// Reading a pcap recording for a DHCP acknowledgement (BOOTP reply from port 67 to 68, message
// type 5) to a given MAC: the address the server gave that card. Pure.

const ETHER_IPV4 = 0x0800;

/** The yiaddr of the first DHCPACK to `mac` in the recording, if there is one. */
export function dhcpAckAddress(pcap: Buffer, mac: string): string | undefined {
  if (pcap.length < 24) return undefined;
  const magic = pcap.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && pcap.readUInt32BE(0) !== 0xa1b2c3d4 && pcap.readUInt32BE(0) !== 0xa1b23c4d)
    return undefined;
  const u32 = (at: number): number => (le ? pcap.readUInt32LE(at) : pcap.readUInt32BE(at));
  const want = mac.toLowerCase();
  for (let at = 24; at + 16 <= pcap.length;) {
    const len = u32(at + 8);
    const start = at + 16;
    at = start + len;
    if (at > pcap.length) break;
    const ip = ackIn(pcap.subarray(start, start + len), want);
    if (ip) return ip;
  }
  return undefined;
}

function ackIn(frame: Buffer, mac: string): string | undefined {
  if (frame.length < 14 + 20 + 8 + 240 || frame.readUInt16BE(12) !== ETHER_IPV4) return undefined;
  const ipAt = 14;
  const ihl = (frame[ipAt]! & 0x0f) * 4;
  if (frame[ipAt + 9] !== 17) return undefined;
  const udp = ipAt + ihl;
  if (frame.readUInt16BE(udp) !== 67 || frame.readUInt16BE(udp + 2) !== 68) return undefined;
  const bootp = udp + 8;
  if (frame.length < bootp + 240 || frame[bootp] !== 2) return undefined;
  const chaddr = [...frame.subarray(bootp + 28, bootp + 34)]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
  if (chaddr !== mac || frame.readUInt32BE(bootp + 236) !== 0x63825363) return undefined;
  for (let o = bootp + 240; o < frame.length && frame[o] !== 255;) {
    const code = frame[o]!;
    if (code === 0) {
      o += 1;
      continue;
    }
    const len = frame[o + 1] ?? 0;
    if (code === 53 && len === 1 && frame[o + 2] === 5)
      return [...frame.subarray(bootp + 16, bootp + 20)].join('.');
    o += 2 + len;
  }
  return undefined;
}
