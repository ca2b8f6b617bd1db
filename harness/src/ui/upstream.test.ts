import { describe, expect, it } from 'vitest';
import { unsafeRawUpstreamUrl, upstreamOf, upstreamUrl } from './upstream.ts';

describe('upstreamUrl', () => {
  const api = upstreamOf('https://127.0.0.1:6443');

  it("concatenates the server's origin and base path with the canonical path", () => {
    const b = upstreamUrl(api, '/api/v1/pods', 'watch=1');
    expect(b.ok && b.url.href).toBe('https://127.0.0.1:6443/api/v1/pods?watch=1');
    const prefixed = upstreamUrl(
      upstreamOf('https://rancher.example/k8s/clusters/c-1/'),
      '/api',
      '',
    );
    expect(prefixed.ok && prefixed.url.href).toBe('https://rancher.example/k8s/clusters/c-1/api');
  });

  it('refuses a path that would leave the origin or be normalized', () => {
    // Not canonical paths: what the check catches if a caller ever passes one.
    expect(upstreamUrl(api, '@evil.example/x', '')).toEqual({
      ok: false,
      message:
        'path "@evil.example/x" would leave https://127.0.0.1:6443 (for https://evil.example)',
    });
    expect(upstreamUrl(api, '/a/../b', '')).toEqual({
      ok: false,
      message: 'path "/a/../b" would be changed to "/b"',
    });
  });

  it('the pre-fix way (tests only) lets a raw path name another host', () => {
    const b = unsafeRawUpstreamUrl('https://127.0.0.1:6443', '//127.0.0.1:9443/../../api');
    expect(b.ok && b.url.origin).toBe('https://127.0.0.1:9443');
  });
});
