// What the image library's HTTP server answers (pure): each image as `/<name>.<ext>` (GET, HEAD)
// and its SHA-256 as `/<name>.<ext>.sha256`; nothing else (no listing, no other path, no method
// other than GET and HEAD). Paths are matched against the image names exactly, never joined to a
// folder, so no path leads outside the images.

/** The host name that means the library (like in-cluster DNS, the importer maps it to the server). */
export const LIBRARY_HOST = 'images.local-engine.invalid';

export interface LibraryEntry {
  name: string;
  /** The image file. */
  path: string;
  format: 'qcow2' | 'raw';
}

/** The file name an image is served as: `<name>.qcow2`, or `<name>.img` for a raw one. */
export const servedName = (e: Pick<LibraryEntry, 'name' | 'format'>): string =>
  `${e.name}.${e.format === 'qcow2' ? 'qcow2' : 'img'}`;

/** The URL a DataVolume names an image by. */
export const libraryUrl = (e: Pick<LibraryEntry, 'name' | 'format'>): string =>
  `http://${LIBRARY_HOST}/${servedName(e)}`;

export type Route =
  | { kind: 'image'; entry: LibraryEntry; head: boolean }
  | { kind: 'sha256'; entry: LibraryEntry; head: boolean }
  | { kind: 'error'; status: 404 | 405; message: string };

export function route(method: string, url: string, entries: readonly LibraryEntry[]): Route {
  if (method !== 'GET' && method !== 'HEAD')
    return { kind: 'error', status: 405, message: `method ${method} is not allowed (GET, HEAD)` };
  const head = method === 'HEAD';
  const path = url.split('?')[0] ?? '';
  const file = path.startsWith('/') ? path.slice(1) : path;
  for (const entry of entries) {
    if (file === servedName(entry)) return { kind: 'image', entry, head };
    if (file === `${servedName(entry)}.sha256`) return { kind: 'sha256', entry, head };
  }
  return { kind: 'error', status: 404, message: `${path} is not in the image library` };
}
