// The image library over HTTP on 127.0.0.1 (a random port): each image with its Content-Length
// and a `.sha256` beside it, as a web server of cloud images publishes them, so that the engine's
// importer fetches the `http` source for real. Tests may throttle it (bytes per second) to watch
// an import in progress.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { route, servedName, type LibraryEntry } from './routes.ts';

export interface LibraryServerOptions {
  images: readonly LibraryEntry[];
  /** At most this many bytes a second per download (unlimited by default). */
  bytesPerSecond?: number;
}

export interface LibraryServer {
  /** The loopback address the library's host name stands for. */
  host: string;
  port: number;
  /** The hex SHA-256 of an image's file (as its `.sha256` says). */
  sha256(name: string): Promise<string>;
  close(): Promise<void>;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Streams the file, pausing between chunks to keep under the rate. */
async function sendFile(res: ServerResponse, path: string, bytesPerSecond?: number): Promise<void> {
  const started = Date.now();
  let sent = 0;
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  res.on('close', () => stream.destroy());
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (!res.write(buf)) await new Promise((r) => res.once('drain', r));
      sent += buf.length;
      if (bytesPerSecond) {
        const due = started + (sent / bytesPerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      if (res.destroyed) return;
    }
    res.end();
  } catch {
    res.destroy();
  }
}

export async function startLibraryServer(o: LibraryServerOptions): Promise<LibraryServer> {
  const sums = new Map<string, Promise<string>>();
  const sha256 = (e: LibraryEntry): Promise<string> => {
    let s = sums.get(e.name);
    if (!s) sums.set(e.name, (s = fileSha256(e.path)));
    return s;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const r = route(req.method ?? 'GET', req.url ?? '/', o.images);
    if (r.kind === 'error') {
      res.writeHead(r.status, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${r.message}\n`);
      return;
    }
    if (r.kind === 'sha256') {
      const body = `${await sha256(r.entry)}  ${servedName(r.entry)}\n`;
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(r.head ? undefined : body);
      return;
    }
    const size = statSync(r.entry.path).size;
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': size,
      'Accept-Ranges': 'none',
    });
    if (r.head) res.end();
    else await sendFile(res, r.entry.path, o.bytesPerSecond);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    sha256: async (name) => {
      const e = o.images.find((i) => i.name === name);
      if (!e) throw new Error(`no image ${name} in the library`);
      return sha256(e);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
