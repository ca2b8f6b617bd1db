import { describe, expect, it } from 'vitest';
import { libraryUrl, route, type LibraryEntry } from './routes.ts';

const tiny: LibraryEntry = { name: 'tiny-linux', path: '/cache/tiny.qcow2', format: 'qcow2' };
const raw: LibraryEntry = { name: 'rawdisk', path: '/cache/raw.img', format: 'raw' };

describe('library routes', () => {
  it('serves an image and its checksum by name, GET and HEAD', () => {
    expect(route('GET', '/tiny-linux.qcow2', [tiny])).toEqual({
      kind: 'image',
      entry: tiny,
      head: false,
    });
    expect(route('HEAD', '/tiny-linux.qcow2?x=1', [tiny])).toEqual({
      kind: 'image',
      entry: tiny,
      head: true,
    });
    expect(route('GET', '/tiny-linux.qcow2.sha256', [tiny])).toMatchObject({ kind: 'sha256' });
    expect(route('GET', '/rawdisk.img', [tiny, raw])).toMatchObject({ kind: 'image', entry: raw });
    expect(libraryUrl(tiny)).toBe('http://images.local-engine.invalid/tiny-linux.qcow2');
  });

  it('lists nothing, leads nowhere else, refuses other methods', () => {
    for (const p of [
      '/',
      '',
      '/tiny-linux',
      '/../tiny-linux.qcow2',
      '/x/../tiny-linux.qcow2',
      '/%2e%2e/etc/passwd',
      '/cache/tiny.qcow2',
      '/tiny-linux.qcow2/',
    ])
      expect(route('GET', p, [tiny])).toMatchObject({ kind: 'error', status: 404 });
    expect(route('PUT', '/tiny-linux.qcow2', [tiny])).toMatchObject({ kind: 'error', status: 405 });
  });
});
