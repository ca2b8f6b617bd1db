// The DHCP observation's parser (dhcp-observe.ts) against recordings built by hand, byte by byte,
// as QEMU's filter-dump writes them: a pcap file of Ethernet frames.
import { describe, expect, it } from 'vitest';
import { dhcpAckAddress } from './dhcp-observe.ts';

const MAC = '52:54:00:12:34:56';
const OTHER = '52:54:00:aa:bb:cc';

/** The pcap file header: magic, version 2.4, no zone, snap length 65535, link type 1 (Ethernet). */
function header(bigEndian = false, nanoseconds = false): Buffer {
  const b = Buffer.alloc(24);
  const u32 = (v: number, at: number): number =>
    bigEndian ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at);
  const u16 = (v: number, at: number): number =>
    bigEndian ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at);
  u32(nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u16(2, 4);
  u16(4, 6);
  u32(65535, 16);
  u32(1, 20);
  return b;
}

/** One record: its header (time, captured and original length) and the frame. */
function record(frame: Buffer, bigEndian = false, cut = frame.length): Buffer {
  const h = Buffer.alloc(16);
  const u32 = (v: number, at: number): number =>
    bigEndian ? h.writeUInt32BE(v, at) : h.writeUInt32LE(v, at);
  u32(1_700_000_000, 0);
  u32(cut, 8);
  u32(frame.length, 12);
  return Buffer.concat([h, frame.subarray(0, cut)]);
}

const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((x) => parseInt(x, 16)));
const ipBytes = (ip: string): Buffer => Buffer.from(ip.split('.').map(Number));

interface Reply {
  mac?: string;
  yiaddr?: string;
  /** DHCP message type (option 53): 2 offer, 5 ack, 6 nak. */
  type?: number;
  op?: number;
  ports?: [number, number];
  protocol?: number;
}

/** An Ethernet frame holding an IPv4/UDP BOOTP reply from QEMU's DHCP server (10.0.2.2). */
function reply(r: Reply = {}): Buffer {
  const mac = r.mac ?? MAC;
  const bootp = Buffer.alloc(240);
  bootp[0] = r.op ?? 2;
  bootp[1] = 1;
  bootp[2] = 6;
  ipBytes(r.yiaddr ?? '10.0.2.15').copy(bootp, 16);
  macBytes(mac).copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  const options = Buffer.from([
    0, // pad
    54,
    4,
    10,
    0,
    2,
    2, // server identifier
    53,
    1,
    r.type ?? 5, // message type
    51,
    4,
    0,
    1,
    81,
    128, // lease time
    255,
  ]);
  const payload = Buffer.concat([bootp, options]);
  const udp = Buffer.alloc(8);
  const [src, dst] = r.ports ?? [67, 68];
  udp.writeUInt16BE(src, 0);
  udp.writeUInt16BE(dst, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = r.protocol ?? 17;
  ipBytes('10.0.2.2').copy(ip, 12);
  ipBytes('255.255.255.255').copy(ip, 16);
  const eth = Buffer.concat([macBytes(mac), macBytes('52:55:0a:00:02:02'), Buffer.from([8, 0])]);
  return Buffer.concat([eth, ip, udp, payload]);
}

/** The guest's DHCPREQUEST (client port 68 to server port 67, BOOTP op 1). */
const request = reply({ op: 1, ports: [68, 67], type: 3, yiaddr: '0.0.0.0' });

describe('dhcpAckAddress', () => {
  it("finds the address acknowledged to the card's MAC, past other traffic", () => {
    const pcap = Buffer.concat([
      header(),
      record(request),
      record(reply({ type: 2, yiaddr: '10.0.2.99' })), // an offer is not an acknowledgement
      record(reply({ mac: OTHER, yiaddr: '10.0.2.16' })), // another card's
      record(reply({ ports: [68, 67], yiaddr: '10.0.2.98' })), // wrong direction
      record(reply({ protocol: 6, yiaddr: '10.0.2.97' })), // not UDP
      record(reply()),
    ]);
    expect(dhcpAckAddress(pcap, MAC)).toBe('10.0.2.15');
    expect(dhcpAckAddress(pcap, MAC.toUpperCase())).toBe('10.0.2.15');
    expect(dhcpAckAddress(pcap, OTHER)).toBe('10.0.2.16');
  });

  it('reads big-endian and nanosecond recordings too', () => {
    expect(dhcpAckAddress(Buffer.concat([header(true), record(reply(), true)]), MAC)).toBe(
      '10.0.2.15',
    );
    expect(dhcpAckAddress(Buffer.concat([header(false, true), record(reply())]), MAC)).toBe(
      '10.0.2.15',
    );
  });

  it('finds nothing in a recording without the acknowledgement, or one still being written', () => {
    expect(dhcpAckAddress(Buffer.concat([header(), record(request)]), MAC)).toBeUndefined();
    expect(dhcpAckAddress(Buffer.concat([header(), record(reply({ type: 6 }))]), MAC)).toBe(
      undefined,
    );
    const whole = Buffer.concat([header(), record(request), record(reply())]);
    expect(dhcpAckAddress(whole.subarray(0, whole.length - 10), MAC)).toBeUndefined();
    expect(dhcpAckAddress(Buffer.concat([header(), record(reply(), false, 100)]), MAC)).toBe(
      undefined,
    );
    expect(dhcpAckAddress(header().subarray(0, 10), MAC)).toBeUndefined();
    expect(dhcpAckAddress(Buffer.from('not a recording, just some text'), MAC)).toBeUndefined();
  });
});
