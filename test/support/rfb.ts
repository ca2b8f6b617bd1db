// A minimal VNC (RFB 3.8) client for tests: it connects through a websocket (KubeVirt's /vnc
// subresource), asks for the whole screen as raw 32-bit pixels, and writes it as a PNG. Only what
// QEMU's VNC server needs: no authentication (the API server authorizes the websocket), raw
// encoding, one full update.
import { deflateSync } from 'node:zlib';
import type WebSocket from 'ws';

export interface Screen {
  width: number;
  height: number;
  name: string;
  /** RGBA, row by row. */
  rgba: Buffer;
}

/** Bytes from the websocket, read in exact amounts. */
class Reader {
  private buf = Buffer.alloc(0);
  private wake?: () => void;
  private closed?: Error;
  constructor(ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    ws.on('close', () => {
      this.closed = new Error('the VNC connection closed');
      this.wake?.();
    });
  }
  async read(n: number, timeoutMs = 20_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw this.closed;
      if (Date.now() > deadline) throw new Error(`VNC: ${n} bytes did not come in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** Speaks RFB over an open websocket and returns the screen. */
export async function captureScreen(ws: WebSocket): Promise<Screen> {
  const r = new Reader(ws);
  const version = (await r.read(12)).toString('latin1');
  if (!version.startsWith('RFB 003.'))
    throw new Error(`VNC: not an RFB server: ${JSON.stringify(version)}`);
  ws.send(Buffer.from('RFB 003.008\n'));
  const count = (await r.read(1))[0]!;
  const types = [...(await r.read(count))];
  if (!types.includes(1))
    throw new Error(`VNC: no "None" security type offered (${types.join(',')})`);
  ws.send(Buffer.from([1]));
  const result = (await r.read(4)).readUInt32BE(0);
  if (result !== 0) throw new Error(`VNC: security handshake failed (${result})`);
  ws.send(Buffer.from([1])); // ClientInit: shared
  const init = await r.read(24);
  const width = init.readUInt16BE(0);
  const height = init.readUInt16BE(2);
  const name = (await r.read(init.readUInt32BE(20))).toString('utf8');
  // SetPixelFormat: 32 bits per pixel, true colour, little-endian, red at bit 16.
  const pf = Buffer.alloc(20);
  pf.writeUInt8(0, 0);
  pf.writeUInt8(32, 4);
  pf.writeUInt8(24, 5);
  pf.writeUInt8(0, 6);
  pf.writeUInt8(1, 7);
  pf.writeUInt16BE(255, 8);
  pf.writeUInt16BE(255, 10);
  pf.writeUInt16BE(255, 12);
  pf.writeUInt8(16, 14);
  pf.writeUInt8(8, 15);
  pf.writeUInt8(0, 16);
  ws.send(pf);
  const enc = Buffer.alloc(8);
  enc.writeUInt8(2, 0);
  enc.writeUInt16BE(1, 2);
  enc.writeInt32BE(0, 4); // raw
  ws.send(enc);
  const req = Buffer.alloc(10);
  req.writeUInt8(3, 0);
  req.writeUInt8(0, 1); // the whole screen, not only what changed
  req.writeUInt16BE(width, 6);
  req.writeUInt16BE(height, 8);
  ws.send(req);
  const rgba = Buffer.alloc(width * height * 4);
  for (;;) {
    const type = (await r.read(1))[0];
    if (type !== 0) throw new Error(`VNC: unexpected server message ${type}`);
    const rects = (await r.read(3)).readUInt16BE(1);
    for (let i = 0; i < rects; i++) {
      const h = await r.read(12);
      const [x, y, w, hh] = [
        h.readUInt16BE(0),
        h.readUInt16BE(2),
        h.readUInt16BE(4),
        h.readUInt16BE(6),
      ];
      const encoding = h.readInt32BE(8);
      if (encoding !== 0) throw new Error(`VNC: unexpected encoding ${encoding}`);
      const px = await r.read(w * hh * 4);
      for (let row = 0; row < hh; row++)
        for (let col = 0; col < w; col++) {
          const s = (row * w + col) * 4;
          const d = ((y + row) * width + x + col) * 4;
          rgba[d] = px[s + 2]!;
          rgba[d + 1] = px[s + 1]!;
          rgba[d + 2] = px[s]!;
          rgba[d + 3] = 255;
        }
    }
    return { width, height, name, rgba };
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** The screen as a PNG file's bytes. */
export function toPng(s: Screen): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(s.width, 0);
  ihdr.writeUInt32BE(s.height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(6, 9); // RGBA
  const rows = Buffer.alloc((s.width * 4 + 1) * s.height);
  for (let y = 0; y < s.height; y++)
    s.rgba.copy(rows, y * (s.width * 4 + 1) + 1, y * s.width * 4, (y + 1) * s.width * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
