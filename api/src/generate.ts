// Writes every file derived from the API definitions. `--check` writes nothing and exits 1 when
// a generated file differs from what the definitions produce.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './paths.ts';
import { renderAll } from './render.ts';
import { allKinds } from './v1alpha1/index.ts';

/** Folders whose every file is generated; stray files there are stale too. */
export const GENERATED_DIRS = ['charts/vmplane/crds', 'api/generated/schemas'];

export interface Drift {
  path: string;
  problem: 'missing' | 'different' | 'unexpected';
}

export async function findDrift(root = REPO_ROOT): Promise<Drift[]> {
  const files = await renderAll(allKinds);
  const drift: Drift[] = [];
  for (const [path, content] of files) {
    let current: string | undefined;
    try {
      current = readFileSync(join(root, path), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === undefined) drift.push({ path, problem: 'missing' });
    else if (current !== content) drift.push({ path, problem: 'different' });
  }
  for (const dir of GENERATED_DIRS) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, dir));
    } catch {
      entries = [];
    }
    for (const e of entries)
      if (!files.has(`${dir}/${e}`)) drift.push({ path: `${dir}/${e}`, problem: 'unexpected' });
  }
  return drift;
}

async function main(): Promise<void> {
  if (process.argv.includes('--check')) {
    const drift = await findDrift();
    for (const d of drift) console.error(`${d.path}: ${d.problem}`);
    if (drift.length) {
      console.error('generated files are stale: run npm run generate');
      process.exit(1);
    }
    console.log('generated files are up to date');
    return;
  }
  for (const dir of GENERATED_DIRS) rmSync(join(REPO_ROOT, dir), { recursive: true, force: true });
  const files = await renderAll(allKinds);
  for (const [path, content] of files) {
    mkdirSync(dirname(join(REPO_ROOT, path)), { recursive: true });
    writeFileSync(join(REPO_ROOT, path), content);
  }
  console.log(`wrote ${files.size} files`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
