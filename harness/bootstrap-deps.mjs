// Whether node_modules holds what package-lock.json asks for, read from npm's own record of what it
// installed (node_modules/.package-lock.json): every package the lock file lists is there at its
// version, except optional ones (another platform's builds), and nothing else is. Plain JavaScript
// with no dependencies, for bootstrap.mjs, which runs before anything is installed.
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @param {{ packages?: Record<string, { version?: string, optional?: boolean, peer?: boolean }> }} lock
 *   package-lock.json
 * @param {{ packages?: Record<string, { version?: string }> }} installed node_modules/.package-lock.json
 * @returns {string | undefined} the first difference, or undefined when they agree
 */
export function lockDifference(lock, installed) {
  const want = lock.packages ?? {};
  const have = installed.packages ?? {};
  for (const [path, entry] of Object.entries(want)) {
    if (path === '' || !path.includes('node_modules/')) continue;
    const got = have[path];
    if (!got) {
      if (entry.optional || entry.peer) continue;
      return `${path} is missing`;
    }
    if (got.version !== entry.version)
      return `${path} is ${got.version}, the lock file says ${entry.version}`;
  }
  for (const path of Object.keys(have))
    if (path.includes('node_modules/') && !(path in want)) return `${path} is not in the lock file`;
  return undefined;
}

/**
 * Why the npm dependencies of `dir` must be installed, or undefined when they are current. By
 * content, not by file times: a fresh checkout (a git worktree) has a newer lock file than an
 * install that still matches it.
 * @param {string} dir
 * @param {string[]} [bins] commands node_modules/.bin must hold
 * @returns {string | undefined}
 */
export function depsStale(dir, bins = []) {
  const marker = join(dir, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return 'nothing installed';
  for (const b of bins)
    if (!existsSync(join(dir, 'node_modules', '.bin', b))) return `no ${b} in node_modules/.bin`;
  try {
    return lockDifference(
      JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')),
      JSON.parse(readFileSync(marker, 'utf8')),
    );
  } catch (e) {
    return `cannot read the lock files: ${e.message}`;
  }
}

/** Whether node_modules is a link (to another checkout's): installing there would empty that one. */
export function nodeModulesIsLink(dir) {
  try {
    return lstatSync(join(dir, 'node_modules')).isSymbolicLink();
  } catch {
    return false;
  }
}
