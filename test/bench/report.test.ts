// The report of a run: the targets table first, each figure beside its target, met or missed;
// a run whose figures include a zero is refused rather than printed.
import { describe, expect, it } from 'vitest';
import { table } from '../../bench/report.ts';

const timings = (p99: number, rps: number): object => ({
  create: { p50: p99 / 2, p95: p99, p99, rps, errors: 0, n: 10 },
  update: { p50: p99 / 2, p95: p99, p99, rps, errors: 0, n: 10 },
});

function results(createsPerSecond: number): Record<string, unknown> {
  const modes = {
    none: timings(50, 700),
    vap: timings(52, 690),
    vapWebhooks: { ...timings(100, 400), webhookCpuMsPerWrite: 1.2 },
    generationOff: { ...timings(160, 300), webhookCpuMsPerWrite: 2.5 },
    generationOn: { ...timings(104, createsPerSecond), webhookCpuMsPerWrite: 1.3 },
  };
  return {
    machine: { cpu: 'AMD EPYC', cores: 2, node: 'v20', date: '2026-12-07' },
    startup: { freshCertificateMs: 900, existingCertificateMs: 450 },
    endToEnd: {
      requests: 10,
      concurrency: 16,
      sizes: [
        {
          policies: 10,
          modes,
          rules: { native: 50, webhook: 1, reasons: ['maxCPUs: reads the class'] },
          ratios: {
            createsPerSecond: createsPerSecond / 400,
            createP99: 1.04,
            updatesPerSecond: 1,
            updateP99: 1,
          },
        },
      ],
    },
  };
}

describe('the report', () => {
  it('opens with each figure beside its target, met or missed', () => {
    const md = table(results(340));
    expect(md).toContain(
      '| webhook start to /readyz, existing certificate | 450 ms | < 500 ms | met |',
    );
    expect(md).toContain(
      '| 10 policies: creates/s, generation on / VAPs + zero-policy webhooks | 0.85 | ≥ 0.9 | **missed** |',
    );
    expect(md).toContain(
      '| 10 policies: create p99, generation on / VAPs + zero-policy webhooks | 1.04 | ≤ 1.1 | met |',
    );
    expect(md).toContain('| vmplane, generation on (generated VAPs) | 52 | 104 | 340 |');
    expect(md).toContain(
      'Rules: 50 in the API server, 1 in the webhook (maxCPUs: reads the class)',
    );
  });

  it('refuses a run with a rate of 0 instead of printing it', () => {
    expect(() => table(results(0))).toThrow('not a measured figure');
  });
});
