// The engine's importer and cloner: what CDI's importer pod and host-assisted clone do to a bound
// claim's file (the file given by volumeFile(pv)). Follows CDI v1.65 pkg/importer
// (http-datasource.go: GET, Content-Length, progress from the bytes read; data-processor.go:
// scratch file, convert to raw, validate the virtual size, resize to the volume's usable space;
// checksum.go) and cmd/cdi-importer (blank images). The result is checked with `qemu-img compare`
// against the source: a mismatch fails the import. Errors carry the importer's words and whether
// CDI gives up on them (a checksum mismatch) or retries (everything else).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import {
  badStatus,
  checksumMismatch,
  parseChecksum,
  requestErrored,
  tooSmallDetail,
  TOO_SMALL,
} from './source.ts';

const run = promisify(execFile);

/** A failed import as the importer reports it; `fatal` ones are not retried (CDI's fatalError). */
export class ImportError extends Error {
  constructor(
    message: string,
    readonly reason = 'Error',
    readonly fatal = false,
    /** The full words, when the condition shows CDI's simplified ones. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

export type Progress = (read: number, total: number) => void;

async function qemuImg(bin: string, args: string[]): Promise<string> {
  try {
    return (await run(bin, args, { maxBuffer: 16 * 2 ** 20 })).stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string; code?: number };
    throw Object.assign(new Error(err.stderr?.trim() || err.message), { code: err.code });
  }
}

/** A sparse raw file of `bytes` (CDI's blank image). */
export async function fillBlank(target: string, bytes: number): Promise<void> {
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = `${target}.blank`;
  await rm(tmp, { force: true });
  await (await open(tmp, 'w', 0o600)).close();
  await truncate(tmp, bytes);
  await rename(tmp, target);
}

function request(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(url, resolve);
    req.on('error', (e) => reject(new ImportError(requestErrored(url, e.message))));
  });
}

async function publishedSha256(fetch: string, shown: string): Promise<string> {
  const res = await request(`${fetch}.sha256`);
  let body = '';
  for await (const c of res) body += String(c);
  if (res.statusCode !== 200)
    throw new ImportError(badStatus(res.statusCode ?? 0, res.statusMessage ?? ''));
  const hex = /^[0-9a-f]{64}/.exec(body.trim())?.[0];
  if (!hex)
    throw new ImportError(
      `Unable to connect to http data source: ${shown}.sha256 holds no SHA-256`,
    );
  return `sha256:${hex}`;
}

/** GETs the URL into the scratch file, counting and hashing the bytes really read. */
async function download(
  o: { fetch: string; url: string; checksum?: string },
  scratch: string,
  progress: Progress,
): Promise<void> {
  const want = o.checksum ? parseChecksum(o.checksum) : undefined;
  if (want && !want.ok) throw new ImportError(want.message);
  const res = await request(o.fetch);
  if (res.statusCode !== 200) {
    res.resume();
    throw new ImportError(badStatus(res.statusCode ?? 0, res.statusMessage ?? ''));
  }
  const total = Number(res.headers['content-length'] ?? 0);
  const hash = want?.ok ? createHash(want.algorithm) : undefined;
  const out = createWriteStream(scratch, { mode: 0o600 });
  let read = 0;
  try {
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      read += buf.length;
      hash?.update(buf);
      progress(read, total);
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
  } catch (e) {
    throw new ImportError(requestErrored(o.url, (e as Error).message));
  } finally {
    await new Promise<void>((r) => out.end(() => r()));
  }
  if (total && read !== total)
    throw new ImportError(requestErrored(o.url, `unexpected EOF after ${read} of ${total} bytes`));
  if (want?.ok && hash) {
    const got = hash.digest('hex');
    if (got !== want.hex)
      throw new ImportError(checksumMismatch(want.algorithm, want.hex, got), 'ChecksumError', true);
  }
}

export interface HttpImport {
  fetch: string;
  url: string;
  checksum?: string;
  /** A library image: its published checksum is checked when the DataVolume gives none. */
  library?: boolean;
  scratch: string;
  target: string;
  /** What the image may use of the volume (its usable space). */
  sizeBytes: number;
  qemuImg?: string;
}

/** An http import: download, check, convert to raw, resize, compare. */
export async function importHttp(o: HttpImport, progress: Progress): Promise<void> {
  const bin = o.qemuImg ?? 'qemu-img';
  await mkdir(dirname(o.scratch), { recursive: true, mode: 0o700 });
  await mkdir(dirname(o.target), { recursive: true, mode: 0o700 });
  const staged = `${o.target}.importing`;
  try {
    const checksum = o.checksum ?? (o.library ? await publishedSha256(o.fetch, o.url) : undefined);
    await download({ ...o, ...(checksum ? { checksum } : {}) }, o.scratch, progress);
    const info = JSON.parse(await qemuImg(bin, ['info', '--output=json', o.scratch])) as {
      format: string;
      'virtual-size': number;
    };
    const format = info.format === 'qcow2' ? 'qcow2' : 'raw';
    if (info['virtual-size'] > o.sizeBytes)
      throw new ImportError(
        TOO_SMALL,
        'Error',
        false,
        tooSmallDetail(info['virtual-size'], o.sizeBytes),
      );
    await rm(staged, { force: true });
    await qemuImg(bin, [
      'convert',
      '-q',
      '-t',
      'none',
      '-f',
      format,
      '-O',
      'raw',
      o.scratch,
      staged,
    ]).catch((e: Error) => {
      throw new ImportError(`Unable to process data: Conversion to raw failed: ${e.message}`);
    });
    if (info['virtual-size'] < o.sizeBytes)
      await qemuImg(bin, ['resize', '-q', '-f', 'raw', staged, String(o.sizeBytes)]);
    await qemuImg(bin, ['compare', '-q', '-f', format, '-F', 'raw', o.scratch, staged]).catch(
      (e: Error & { code?: number }) => {
        throw new ImportError(
          `Unable to process data: the imported disk differs from its source (qemu-img compare: ${e.message || `exit ${e.code}`})`,
        );
      },
    );
    await rename(staged, o.target);
  } finally {
    await rm(o.scratch, { force: true });
    await rm(staged, { force: true });
  }
}

const CHUNK = 2 ** 20;

/** A host-assisted clone: the source file's bytes into the target, holes kept (sparse). */
export async function cloneFile(
  source: string,
  target: string,
  sizeBytes: number,
  progress: Progress,
): Promise<void> {
  const total = (await stat(source)).size;
  if (total > sizeBytes)
    throw new ImportError(
      `target resources requests storage size is smaller than the source ${sizeBytes} < ${total}`,
    );
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const staged = `${target}.cloning`;
  const src = await open(source, 'r');
  const dst = await open(staged, 'w', 0o600);
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let at = 0; at < total; at += CHUNK) {
      const { bytesRead } = await src.read(buf, 0, CHUNK, at);
      const part = buf.subarray(0, bytesRead);
      if (part.some((b) => b !== 0)) await dst.write(part, 0, bytesRead, at);
      progress(at + bytesRead, total);
    }
    await dst.truncate(Math.max(sizeBytes, total));
  } finally {
    await src.close();
    await dst.close();
  }
  await rename(staged, target);
}
