import { describe, expect, it } from 'vitest';
import { reportsIn, SERVING_REPORTS_ANNOTATION, withReport } from './serving-reports.ts';

const HOUR = 60 * 60_000;
const now = Date.parse('2026-11-30T06:00:00Z');

describe('serving reports, all in one Lease', () => {
  it('are written per replica and read back', () => {
    const a = withReport(
      undefined,
      { identity: 'pod-a', caFingerprint: 'AB', expiresAt: now + 1 },
      now,
      HOUR,
    );
    const ab = withReport(
      { [SERVING_REPORTS_ANNOTATION]: a },
      { identity: 'pod-b', caFingerprint: 'CD', expiresAt: now + 2 },
      now,
      HOUR,
    );
    expect(reportsIn({ [SERVING_REPORTS_ANNOTATION]: ab })).toEqual([
      { identity: 'pod-a', caFingerprint: 'AB', expiresAt: now + 1 },
      { identity: 'pod-b', caFingerprint: 'CD', expiresAt: now + 2 },
    ]);
  });

  it("replace a replica's own report, and forget replicas gone for long", () => {
    const old = JSON.stringify({
      'pod-a': { ca: 'AB', expiresAt: now - 10 },
      'pod-gone': { ca: 'AB', expiresAt: now - 2 * HOUR },
      'pod-recent': { ca: 'AB', expiresAt: now - HOUR / 2 },
    });
    const next = withReport(
      { [SERVING_REPORTS_ANNOTATION]: old },
      { identity: 'pod-a', caFingerprint: 'EF', expiresAt: now + 5 },
      now,
      HOUR,
    );
    expect(
      reportsIn({ [SERVING_REPORTS_ANNOTATION]: next }).map((r) => [r.identity, r.caFingerprint]),
    ).toEqual([
      ['pod-a', 'EF'],
      ['pod-recent', 'AB'],
    ]);
  });

  it('read nothing from a missing or unreadable annotation', () => {
    expect(reportsIn(undefined)).toEqual([]);
    expect(reportsIn({ [SERVING_REPORTS_ANNOTATION]: 'not json' })).toEqual([]);
    expect(reportsIn({ [SERVING_REPORTS_ANNOTATION]: '{"x":{"ca":1}}' })).toEqual([]);
  });
});
