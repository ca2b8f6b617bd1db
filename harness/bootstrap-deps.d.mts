// Types of bootstrap-deps.mjs (plain JavaScript, for bootstrap.mjs), for its test.
interface Lock {
  packages?: Record<
    string,
    { name?: string; version?: string; optional?: boolean; peer?: boolean }
  >;
}
export function lockDifference(lock: Lock, installed: Lock): string | undefined;
export function depsStale(dir: string, bins?: string[]): string | undefined;
export function nodeModulesIsLink(dir: string): boolean;
