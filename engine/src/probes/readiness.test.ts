import { describe, expect, it } from 'vitest';
import {
  afterProbe,
  httpProbeRequest,
  httpProbeVerdict,
  INITIAL_PROBE_STATE,
  probeDue,
  probePort,
  probeSettings,
} from './readiness.ts';

describe('probeSettings', () => {
  it("fills KubeVirt's defaults, also for values below 1", () => {
    expect(probeSettings({ tcpSocket: { port: 22 } })).toEqual({
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1_000,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(
      probeSettings({
        initialDelaySeconds: 5,
        periodSeconds: 0,
        timeoutSeconds: 3,
        successThreshold: 2,
        failureThreshold: 1,
      }),
    ).toEqual({
      initialDelayMs: 5000,
      periodMs: 10_000,
      timeoutMs: 3000,
      successThreshold: 2,
      failureThreshold: 1,
    });
  });
});

describe('probeDue', () => {
  const s = probeSettings({ initialDelaySeconds: 10, periodSeconds: 5 });
  it('waits for the initial delay, then runs once a period', () => {
    expect(probeDue(INITIAL_PROBE_STATE, s, 1000, 10_999)).toBe(false);
    expect(probeDue(INITIAL_PROBE_STATE, s, 1000, 11_000)).toBe(true);
    const ran = { ...INITIAL_PROBE_STATE, lastRunAt: 11_000 };
    expect(probeDue(ran, s, 1000, 15_999)).toBe(false);
    expect(probeDue(ran, s, 1000, 16_000)).toBe(true);
  });
});

describe('afterProbe', () => {
  const ok = { ok: true, message: 'ok' };
  const bad = { ok: false, message: 'refused' };
  it('is ready after successThreshold successes in a row', () => {
    const s = probeSettings({ successThreshold: 2 });
    const one = afterProbe(INITIAL_PROBE_STATE, ok, s, 1);
    expect(one).toMatchObject({ ready: false, successes: 1, lastRunAt: 1 });
    const interrupted = afterProbe(afterProbe(one, bad, s, 2), ok, s, 3);
    expect(interrupted.ready).toBe(false);
    expect(afterProbe(interrupted, ok, s, 4)).toMatchObject({ ready: true, successes: 2 });
  });
  it('stays ready until failureThreshold failures in a row', () => {
    const s = probeSettings({ failureThreshold: 3 });
    let st = afterProbe(INITIAL_PROBE_STATE, ok, s, 1);
    st = afterProbe(afterProbe(st, bad, s, 2), bad, s, 3);
    expect(st).toMatchObject({ ready: true, failures: 2, message: 'refused' });
    expect(afterProbe(afterProbe(st, ok, s, 4), bad, s, 5).ready).toBe(true);
    expect(afterProbe(st, bad, s, 4)).toMatchObject({ ready: false, failures: 3 });
  });
});

describe('probePort', () => {
  it("takes a number, a numeric string, or a port the VM's interfaces name", () => {
    expect(probePort(80, [])).toBe(80);
    expect(probePort('8080', [])).toBe(8080);
    expect(probePort('http', [{ name: 'http', port: 8000 }])).toBe(8000);
    expect(probePort('ssh', [{ name: 'http', port: 8000 }])).toEqual({
      error: `port "ssh" is not a port the VM's interfaces name`,
    });
    expect(probePort(0, [])).toEqual({ error: 'port 0 is not a port number from 1 to 65535' });
  });
});

describe('HTTP probes', () => {
  it("sends kubelet's request with the probe's path and headers", () => {
    expect(
      httpProbeRequest(
        { port: 80, path: 'healthz', httpHeaders: [{ name: 'X-Probe', value: '1' }] },
        80,
        '1.35',
      ),
    ).toBe(
      'GET /healthz HTTP/1.1\r\nHost: localhost:80\r\nUser-Agent: kube-probe/1.35\r\nAccept: */*\r\nX-Probe: 1\r\nConnection: close\r\n\r\n',
    );
  });
  it('succeeds on 200 to 399 only', () => {
    expect(httpProbeVerdict('HTTP/1.1 200 OK')).toEqual({
      ok: true,
      message: 'HTTP probe succeeded with statuscode: 200',
    });
    expect(httpProbeVerdict('HTTP/1.0 302 Found').ok).toBe(true);
    expect(httpProbeVerdict('HTTP/1.1 404 Not Found')).toEqual({
      ok: false,
      message: 'HTTP probe failed with statuscode: 404',
    });
    expect(httpProbeVerdict('SSH-2.0-OpenSSH').ok).toBe(false);
  });
});
