// What the engine's importer does for a claim (pure): from CDI's annotations on the claim, the
// source to fill it from, and the URL resolution that stands in for the cluster's DNS: the host
// `images.local-engine.invalid` is the library's loopback server, and no other host is ever
// reached (a URL on one fails as CDI's importer fails to connect where a name does not resolve).
// Messages are CDI v1.65's importer's (cmd/cdi-importer/importer.go errorCannotConnectDataSource,
// handleImport; pkg/importer/http-datasource.go createHTTPReader; registry-datasource.go).
import { LIBRARY_HOST, servedName, type LibraryEntry } from '../library/routes.ts';
import { ANN, SOURCE } from './annotations.ts';

export interface Endpoint {
  host: string;
  port: number;
}

export type ImportPlan =
  | { kind: 'blank' }
  | {
      kind: 'http';
      /** What the claim names. */
      url: string;
      /** Where it is really read from (the library's loopback address). */
      fetch: string;
      /** "sha256:<hex>" from the DataVolume, when it gives one. */
      checksum?: string;
      /** The library image, when the URL is one (its published checksum is checked too). */
      image?: string;
    }
  | { kind: 'clone'; namespace: string; name: string }
  /** The importer cannot start: its termination message and CDI's reason. */
  | { kind: 'fail'; reason: 'Error' | 'ImagePullFailed'; message: string };

const ONLY_LIBRARY = `(the local engine fetches images only from ${LIBRARY_HOST}, its image library)`;

/** Where an http URL is read from, or the importer's message when it cannot be. */
export function resolveHttp(
  url: string,
  library: Endpoint,
): { ok: true; fetch: string } | { ok: false; message: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return {
      ok: false,
      message: `Unable to connect to http data source: unable to parse endpoint "${url}": invalid URL (expected http://${LIBRARY_HOST}/<image>.qcow2)`,
    };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return {
      ok: false,
      message: `Unable to connect to http data source: unable to parse endpoint "${url}": unsupported scheme ${u.protocol.replace(':', '')} (http and https are)`,
    };
  if (u.hostname !== LIBRARY_HOST)
    return {
      ok: false,
      message: `Unable to connect to http data source: HTTP request errored: Get "${url}": dial tcp: lookup ${u.hostname}: no such host ${ONLY_LIBRARY}`,
    };
  return { ok: true, fetch: `http://${library.host}:${library.port}${u.pathname}${u.search}` };
}

/** The library image a registry URL names (docker://images.local-engine.invalid/<image>[:tag]). */
function resolveRegistry(
  url: string,
  images: readonly LibraryEntry[],
): { ok: true; image: LibraryEntry } | { ok: false; message: string } {
  const m = /^docker:\/\/([^/]+)\/([^:@]+)(?::([^@]+))?(?:@.+)?$/.exec(url);
  const fail = (why: string): { ok: false; message: string } => ({
    ok: false,
    message: `Unable to process data: failed to pull image: Failed to read registry image: ${why}`,
  });
  if (!m) return fail(`Could not parse image: invalid reference format: ${url}`);
  const [, host = '', name = '', tag = 'latest'] = m;
  if (host !== LIBRARY_HOST)
    return fail(
      `Error retrieving image: pinging container registry ${host}: Get "https://${host}/v2/": dial tcp: lookup ${host}: no such host ${ONLY_LIBRARY}`,
    );
  const image = images.find((i) => i.name === name);
  if (!image)
    return fail(
      `Error retrieving image: reading manifest ${tag} in ${host}/${name}: manifest unknown (the library holds ${images.map((i) => i.name).join(', ') || 'no image'})`,
    );
  return { ok: true, image };
}

/** The importer's plan for a claim CDI annotated. */
export function importPlan(
  annotations: Record<string, string>,
  library: Endpoint,
  images: readonly LibraryEntry[],
): ImportPlan {
  const clone = annotations[ANN.cloneRequest];
  if (clone) {
    const [namespace = '', name = ''] = clone.split('/');
    return { kind: 'clone', namespace, name };
  }
  const source = annotations[ANN.source] ?? SOURCE.none;
  const endpoint = annotations[ANN.endpoint] ?? '';
  if (source === SOURCE.none) return { kind: 'blank' };
  if (source === SOURCE.http) {
    const r = resolveHttp(endpoint, library);
    if (!r.ok) return { kind: 'fail', reason: 'Error', message: r.message };
    const file = new URL(endpoint).pathname.slice(1);
    const image = images.find((i) => servedName(i) === file)?.name;
    const checksum = annotations[ANN.checksum];
    return {
      kind: 'http',
      url: endpoint,
      fetch: r.fetch,
      ...(checksum ? { checksum } : {}),
      ...(image ? { image } : {}),
    };
  }
  if (source === SOURCE.registry) {
    const r = resolveRegistry(endpoint, images);
    if (!r.ok) return { kind: 'fail', reason: 'ImagePullFailed', message: r.message };
    return {
      kind: 'http',
      url: endpoint,
      fetch: `http://${library.host}:${library.port}/${servedName(r.image)}`,
      image: r.image.name,
    };
  }
  return { kind: 'fail', reason: 'Error', message: `Unknown data source: ${source}` };
}

/** The library image a source URL names (for the disk's kernel boot), if any. */
export function libraryImageOf(
  url: string | undefined,
  images: readonly LibraryEntry[],
): string | undefined {
  if (!url) return undefined;
  if (url.startsWith('docker://')) {
    const r = resolveRegistry(url, images);
    return r.ok ? r.image.name : undefined;
  }
  try {
    const u = new URL(url);
    if (u.hostname !== LIBRARY_HOST) return undefined;
    return images.find((i) => servedName(i) === u.pathname.slice(1))?.name;
  } catch {
    return undefined;
  }
}

/** A checksum in CDI's "algorithm:hex" form, checked before any byte is read. */
export function parseChecksum(
  s: string,
): { ok: true; algorithm: string; hex: string } | { ok: false; message: string } {
  const m = /^(md5|sha1|sha256|sha512):([0-9a-fA-F]+)$/.exec(s);
  if (!m)
    return {
      ok: false,
      message: `Unable to connect to http data source: invalid checksum: ${JSON.stringify(s)} is not algorithm:hex (md5, sha1, sha256, sha512)`,
    };
  return { ok: true, algorithm: m[1] ?? '', hex: (m[2] ?? '').toLowerCase() };
}

/** The importer's words for a checksum that does not match (fatal: CDI does not retry it). */
export const checksumMismatch = (algorithm: string, expected: string, got: string): string =>
  `Unable to process data: checksum mismatch: expected ${algorithm}:${expected}, calculated ${algorithm}:${got}`;

/** The importer's words for an http status other than 200. */
export const badStatus = (code: number, text: string): string =>
  `Unable to connect to http data source: expected status code 200, got ${code}. Status: ${code} ${text}`;

/** The importer's words when the connection fails (refused, reset). */
export const requestErrored = (url: string, cause: string): string =>
  `Unable to connect to http data source: HTTP request errored: Get "${url}": ${cause}`;

/** An image whose virtual size is more than the claim holds (simplified by CDI's controller). */
export const TOO_SMALL = 'DataVolume too small to contain image';
export const tooSmallDetail = (virtual: number, available: number): string =>
  `Unable to process data: virtual image size ${virtual} is larger than the reported available storage ${available}. A larger PVC is required.`;

/** The termination message of a finished import or clone. */
export const IMPORT_COMPLETE = 'Import Complete';
export const CLONE_COMPLETE = 'Clone Complete';
