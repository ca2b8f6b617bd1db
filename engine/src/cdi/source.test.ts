import { describe, expect, it } from 'vitest';
import { ANN } from './annotations.ts';
import { importPlan, libraryImageOf, parseChecksum, resolveHttp } from './source.ts';

const lib = { host: '127.0.0.1', port: 4242 };
const images = [{ name: 'tiny-linux', path: '/c/t.qcow2', format: 'qcow2' as const }];

describe('the importer’s plan', () => {
  it('maps the library host to the loopback server, and nothing else', () => {
    expect(resolveHttp('http://images.local-engine.invalid/tiny-linux.qcow2', lib)).toEqual({
      ok: true,
      fetch: 'http://127.0.0.1:4242/tiny-linux.qcow2',
    });
    const far = resolveHttp('https://example.com/a.img', lib);
    expect(far.ok).toBe(false);
    expect(!far.ok && far.message).toMatch(
      /^Unable to connect to http data source: HTTP request errored: Get "https:\/\/example.com\/a.img": dial tcp: lookup example.com: no such host/,
    );
    expect(resolveHttp('http://127.0.0.1:4242/tiny-linux.qcow2', lib).ok).toBe(false);
  });

  it('plans blank, http, registry and clone from CDI’s annotations', () => {
    expect(importPlan({ [ANN.source]: 'none' }, lib, images)).toEqual({ kind: 'blank' });
    expect(
      importPlan(
        {
          [ANN.source]: 'http',
          [ANN.endpoint]: 'http://images.local-engine.invalid/tiny-linux.qcow2',
        },
        lib,
        images,
      ),
    ).toMatchObject({ kind: 'http', image: 'tiny-linux' });
    expect(
      importPlan(
        {
          [ANN.source]: 'registry',
          [ANN.endpoint]: 'docker://images.local-engine.invalid/tiny-linux:latest',
        },
        lib,
        images,
      ),
    ).toMatchObject({ kind: 'http', fetch: 'http://127.0.0.1:4242/tiny-linux.qcow2' });
    expect(
      importPlan({ [ANN.source]: 'registry', [ANN.endpoint]: 'docker://quay.io/x/y' }, lib, images),
    ).toMatchObject({ kind: 'fail', reason: 'ImagePullFailed' });
    expect(importPlan({ [ANN.cloneRequest]: 'ns/src' }, lib, images)).toEqual({
      kind: 'clone',
      namespace: 'ns',
      name: 'src',
    });
  });

  it('names the library image of a URL, and reads CDI’s checksums', () => {
    expect(libraryImageOf('http://images.local-engine.invalid/tiny-linux.qcow2', images)).toBe(
      'tiny-linux',
    );
    expect(libraryImageOf('http://example.com/tiny-linux.qcow2', images)).toBeUndefined();
    expect(parseChecksum('sha256:ABCD')).toEqual({ ok: true, algorithm: 'sha256', hex: 'abcd' });
    expect(parseChecksum('crc:1').ok).toBe(false);
  });
});
