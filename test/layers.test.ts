// The import direction of the layers, checked by dependency-cruiser with the rules in
// .dependency-cruiser.cjs: api <- kube <- policy <- decisions <- webhooks, controllers <- cli (the
// user's programs); api <- kube <- engine; everything <- harness (the development harness) <- bench,
// test. The plugin uses api and policy only. A fixture tree that breaks five rules shows each is
// enforced.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/src/paths.ts';

const DEPCRUISE = join(REPO_ROOT, 'node_modules/.bin/depcruise');
const CONFIG = join(REPO_ROOT, '.dependency-cruiser.cjs');

function cruise(cwd: string, dirs: string[]): { code: number | null; out: string } {
  const r = spawnSync(DEPCRUISE, ['--config', CONFIG, '--output-type', 'err', ...dirs], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('layers', () => {
  it('every import in the repository follows the layering rules', () => {
    const r = cruise(REPO_ROOT, [
      'api',
      'kube',
      'policy',
      'decisions',
      'webhooks',
      'controllers',
      'engine',
      'cli',
      'harness',
      'bench',
      'plugin/src',
      'plugin/harness',
    ]);
    expect(r.out).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  }, 120_000);

  it('a wrong import fails with the rule it breaks', () => {
    const r = cruise(join(REPO_ROOT, 'test/fixtures/layers-broken'), [
      'api',
      'kube',
      'decisions',
      'webhooks',
      'controllers',
      'cli',
      'harness',
      'plugin',
    ]);
    expect(r.code).not.toBe(0);
    const errors = r.out
      .split('\n')
      .filter((l) => l.trim().startsWith('error '))
      .map((l) => l.trim())
      .sort();
    expect(errors).toEqual([
      'error cli-never-imports-the-harness: cli/src/tool.ts → harness/src/sandbox.ts',
      'error controllers-do-not-import-webhooks-or-clis: controllers/src/reconcile.ts → webhooks/src/handler.ts',
      'error decisions-are-below-webhooks-controllers-and-clis: decisions/src/rule.ts → webhooks/src/handler.ts',
      'error kube-imports-only-api: kube/src/client.ts → webhooks/src/handler.ts',
      'error plugin-imports-only-api-and-policy: plugin/src/page.ts → controllers/src/reconcile.ts',
    ]);
  }, 120_000);
});
