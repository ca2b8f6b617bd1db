import { describe, expect, it } from 'vitest';
import type { KubeRest } from './rest.ts';
import {
  bearerToken,
  metricsVerdict,
  ReviewingMetricsAuthorizer,
  TtlCache,
  verdictTtlMs,
} from './metrics-auth.ts';

describe('metricsVerdict', () => {
  it('401 without a token or with one the API server does not accept, 403 without the right', () => {
    expect(metricsVerdict({ token: false })).toBe(401);
    expect(metricsVerdict({ token: true, authenticated: false })).toBe(401);
    expect(metricsVerdict({ token: true })).toBe(401);
    expect(metricsVerdict({ token: true, authenticated: true, allowed: false })).toBe(403);
    expect(metricsVerdict({ token: true, authenticated: true })).toBe(403);
    expect(metricsVerdict({ token: true, authenticated: true, allowed: true })).toBe(200);
  });

  it('keeps grants longer than refusals', () => {
    const ttl = { allowedMs: 120_000, deniedMs: 10_000 };
    expect(verdictTtlMs(200, ttl)).toBe(120_000);
    expect(verdictTtlMs(401, ttl)).toBe(10_000);
    expect(verdictTtlMs(403, ttl)).toBe(10_000);
  });
});

describe('bearerToken', () => {
  it('takes only a Bearer token', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken('Basic dXNlcjpwdw==')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });
});

describe('TtlCache', () => {
  it('forgets entries at their time to live and the oldest past its size', () => {
    let t = 0;
    const c = new TtlCache<number>(2, () => t);
    c.set('a', 1, 100);
    c.set('b', 2, 1_000);
    expect(c.get('a')).toBe(1);
    t = 100;
    expect(c.get('a')).toBeUndefined();
    c.set('c', 3, 1_000);
    c.set('d', 4, 1_000);
    expect(c.size).toBe(2);
    expect(c.get('b')).toBeUndefined();
    expect([c.get('c'), c.get('d')]).toEqual([3, 4]);
  });
});

describe('ReviewingMetricsAuthorizer', () => {
  const fakeRest = (answers: { authenticated: boolean; allowed: boolean }) => {
    const sent: { path: string; body: Record<string, unknown> }[] = [];
    const rest = {
      request: (_m: string, path: string, o: { body: Record<string, unknown> }) => {
        sent.push({ path, body: o.body });
        return Promise.resolve({
          status: 201,
          headers: {},
          body: path.includes('tokenreviews')
            ? {
                status: {
                  authenticated: answers.authenticated,
                  user: { username: 'system:serviceaccount:mon:prometheus', groups: ['g'] },
                },
              }
            : { status: { allowed: answers.allowed } },
        });
      },
    } as unknown as KubeRest;
    return { rest, sent };
  };

  it('asks a TokenReview, then a SubjectAccessReview for get /metrics, and caches by token', async () => {
    let t = 0;
    const { rest, sent } = fakeRest({ authenticated: true, allowed: true });
    const a = new ReviewingMetricsAuthorizer(rest, { now: () => t });
    expect(await a.check(undefined)).toBe(401);
    expect(sent).toHaveLength(0);
    expect(await a.check('Bearer tok')).toBe(200);
    expect(sent.map((s) => s.path)).toEqual([
      '/apis/authentication.k8s.io/v1/tokenreviews',
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
    ]);
    expect(sent[1]?.body.spec).toEqual({
      user: 'system:serviceaccount:mon:prometheus',
      groups: ['g'],
      nonResourceAttributes: { path: '/metrics', verb: 'get' },
    });
    t = 119_000;
    expect(await a.check('Bearer tok')).toBe(200);
    expect(sent).toHaveLength(2);
    t = 120_000;
    expect(await a.check('Bearer tok')).toBe(200);
    expect(sent).toHaveLength(4);
  });

  it('401 for a token the API server does not accept, without asking for rights', async () => {
    const { rest, sent } = fakeRest({ authenticated: false, allowed: true });
    expect(await new ReviewingMetricsAuthorizer(rest).check('Bearer bad')).toBe(401);
    expect(sent).toHaveLength(1);
  });

  it('403 for a user without the right', async () => {
    const { rest } = fakeRest({ authenticated: true, allowed: false });
    expect(await new ReviewingMetricsAuthorizer(rest).check('Bearer tok')).toBe(403);
  });
});
