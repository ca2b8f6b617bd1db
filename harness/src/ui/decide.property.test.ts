// The UI server's decision against many thousands of generated requests (requests.arbitrary.ts):
// (a) whatever it forwards goes to the API server's origin (the override's for its prefix), never
// elsewhere; (b) a request from another site or port never gets anything but a refusal; (c) no
// request makes it throw; and nothing is served without this start's token. Then the same
// property with the tests-only switch that restores the pre-fix raw upstream path: fast-check
// must find a counterexample, or the property would not be worth much.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type DecideConfig, type Decision, type RequestFacts } from './decide.ts';
import { isForeign, requestFacts, type RequestWorld } from './requests.arbitrary.ts';

const world: RequestWorld = {
  port: 4466,
  attackerPort: 9443,
  clusterName: 'sandbox',
  token: 'c0ffee'.repeat(5) + 'aa',
};
const API = 'https://127.0.0.1:6443';
const OVERRIDE = 'https://127.0.0.1:7443';
const config: DecideConfig = {
  token: world.token,
  port: world.port,
  clusterName: world.clusterName,
  api: API,
  override: { prefix: '/apis/subresources.kubevirt.io/', target: OVERRIDE },
  iconify: true,
};
const RUNS = Number(process.env.UI_PROPERTY_RUNS ?? 20_000);

/** The property, for a config: returns normally or throws what went wrong. */
function holds(f: RequestFacts, c: DecideConfig): void {
  let d: Decision;
  try {
    d = decide(f, c);
  } catch (e) {
    throw new Error(`decide threw: ${String(e)}`, { cause: e });
  }
  if (d.action === 'proxy') {
    const want = d.to === 'override' ? new URL(OVERRIDE).origin : new URL(API).origin;
    if (d.url.origin !== want) throw new Error(`dials ${d.url.origin}, not ${want}`);
  }
  if (d.action !== 'refuse' && isForeign(f, c.port))
    throw new Error(`a foreign request got ${d.action}`);
  const right = `vmplane-ui-token-${c.port}=${c.token}`;
  const hasCookie = (f.cookie ?? '').split(';').some((p) => p.trim() === right);
  if (d.action !== 'refuse' && d.action !== 'set-cookie' && !hasCookie)
    throw new Error(`${d.action} without the token's cookie`);
}

describe('decide, property', () => {
  it(`never dials elsewhere, never admits a foreign request, never throws (${RUNS} requests)`, () => {
    const seen = { proxy: 0, refuse: 0, other: 0 };
    const started = Date.now();
    fc.assert(
      fc.property(requestFacts(world), (f) => {
        holds(f, config);
        const a = decide(f, config).action;
        if (a === 'proxy') seen.proxy++;
        else if (a === 'refuse') seen.refuse++;
        else seen.other++;
      }),
      { numRuns: RUNS },
    );
    console.log(
      `decide property: ${RUNS} requests in ${Date.now() - started} ms: ${seen.proxy} forwarded, ${seen.refuse} refused, ${seen.other} served or redirected`,
    );
    // The generator reaches every outcome, or the property says little.
    expect(seen.proxy).toBeGreaterThan(RUNS / 50);
    expect(seen.other).toBeGreaterThan(RUNS / 500);
  });

  it('finds the pre-fix bug when the tests-only unsafeRawUpstreamPath switch restores it', () => {
    const started = Date.now();
    const r = fc.check(
      fc.property(requestFacts(world), (f) => holds(f, { ...config, unsafeRawUpstreamPath: true })),
      { numRuns: RUNS },
    );
    expect(r.failed).toBe(true);
    const [f] = r.counterexample ?? [];
    console.log(
      `with unsafeRawUpstreamPath: counterexample after ${r.numRuns} runs and ${r.numShrinks} shrinks (${Date.now() - started} ms):\n${JSON.stringify(f, null, 2)}\n${String(r.errorInstance)}`,
    );
    expect(String(r.errorInstance)).toMatch(
      /^Error: dials https:\/\/\S+, not https:\/\/127\.0\.0\.1:6443$/,
    );
  });
});
