import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findDrift, GENERATED_DIRS } from './generate.ts';
import { REPO_ROOT } from './paths.ts';
import { TYPES_FILE } from './render.ts';

describe('generated files', () => {
  it('match the API definitions (run npm run generate after changing api/src)', async () => {
    expect(await findDrift()).toEqual([]);
  });

  // The check above must be able to fail: prove it on a copy with a hand edit and a stray file.
  const copy = mkdtempSync(join(tmpdir(), 'vmplane-drift-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('notice a hand edit and a stray file', async () => {
    for (const dir of [...GENERATED_DIRS, 'api/generated'])
      cpSync(join(REPO_ROOT, dir), join(copy, dir), { recursive: true });
    writeFileSync(join(copy, TYPES_FILE), '// edited by hand\n');
    writeFileSync(join(copy, 'charts/vmplane/crds/stray.yaml'), 'kind: Nothing\n');
    const drift = await findDrift(copy);
    expect(drift).toEqual(
      expect.arrayContaining([
        { path: TYPES_FILE, problem: 'different' },
        { path: 'charts/vmplane/crds/stray.yaml', problem: 'unexpected' },
      ]),
    );
  });
});
