import { describe, expect, it } from 'vitest';
import { canonicalPath, parseTarget } from './target.ts';

describe('parseTarget', () => {
  it('decodes the segments once and keeps the query as sent', () => {
    expect(parseTarget('/clusters/sandbox/api/v1/pods?labelSelector=a%3Db&watch=1')).toEqual({
      ok: true,
      target: {
        segments: ['clusters', 'sandbox', 'api', 'v1', 'pods'],
        trailingSlash: false,
        query: 'labelSelector=a%3Db&watch=1',
      },
    });
    expect(parseTarget('/')).toEqual({
      ok: true,
      target: { segments: [], trailingSlash: false, query: '' },
    });
    expect(parseTarget('/c/sandbox/')).toMatchObject({
      target: { segments: ['c', 'sandbox'], trailingSlash: true },
    });
    expect(parseTarget('/a%20b/x:8080/@me')).toMatchObject({
      target: { segments: ['a b', 'x:8080', '@me'] },
    });
  });

  it('refuses what a URL parser would normalize into another path or host', () => {
    const why = (raw: string): string => {
      const p = parseTarget(raw);
      return p.ok ? 'accepted' : p.message;
    };
    expect(why('/clusters/sandbox//127.0.0.1:9443/../../api')).toBe(
      'path "/clusters/sandbox//127.0.0.1:9443/../../api" is not accepted: no empty segments (//)',
    );
    expect(why('/clusters/sandbox/api/../../x')).toContain('no . or .. segments');
    expect(why('/clusters/sandbox/%2e%2e/x')).toContain('no . or .. segments');
    expect(why('/clusters/sandbox/./x')).toContain('no . or .. segments');
    expect(why('/clusters/sandbox/%2f%2fevil/x')).toContain('no encoded slashes');
    expect(why('/clusters/sandbox/%5Cevil')).toContain('no encoded slashes');
    expect(why('/clusters/sandbox/\\evil')).toContain('characters a path may not hold');
    expect(why('/%E0%A4%A')).toContain('characters a path may not hold');
    expect(why('/%E0%A4')).toBe('path "/%E0%A4" is not accepted: a malformed percent-escape');
    expect(why('/a%00b')).toContain('no control characters');
    expect(why('http://evil/x')).toContain('only a path starting with / is served');
    expect(why('*')).toContain('only a path starting with / is served');
    expect(why('/x?a#b')).toContain('the query holds characters a URL may not');
    expect(why('/é')).toContain('characters a path may not hold');
  });
});

describe('canonicalPath', () => {
  it('encodes each segment and joins them with single slashes', () => {
    expect(canonicalPath(['api', 'v1', 'a b', '%', 'x:1'], false)).toBe('/api/v1/a%20b/%25/x%3A1');
    expect(canonicalPath([], true)).toBe('/');
    expect(canonicalPath(['c'], true)).toBe('/c/');
  });
});
