// Which of the two test runs `npm test -- <args>` asks for. With no arguments, both. Paths under
// plugin/ go to the plugin's vitest (relative to plugin/); anything else goes to the main run.
// A run that is not asked for is undefined.
export interface TestPlan {
  root?: string[];
  plugin?: string[];
}

export function splitArgs(args: readonly string[]): TestPlan {
  if (args.length === 0) return { root: [], plugin: [] };
  const plugin = args
    .filter((a) => a === 'plugin' || a.startsWith('plugin/'))
    .map((a) => a.replace(/^plugin\/?/, ''));
  const root = args.filter((a) => !(a === 'plugin' || a.startsWith('plugin/')));
  return {
    ...(root.length ? { root } : {}),
    ...(plugin.length ? { plugin: plugin.filter(Boolean) } : {}),
  };
}

/** Options of vitest's that take a value (the value is not a file filter). */
const VALUED = new Set([
  '-t',
  '--testNamePattern',
  '--project',
  '--shard',
  '--reporter',
  '--outputFile',
]);

/** The file filters of the root run (arguments that are neither options nor their values). */
function fileFilters(root: readonly string[]): string[] {
  return root.filter((a, i) => !a.startsWith('-') && !VALUED.has(root[i - 1] ?? ''));
}

/**
 * Whether the plan may run browser tests: all of test/, a path under test/plugin, test/sandbox
 * or test/engine, or a bare file-name filter (it may match one of them).
 */
export function needsBrowser(plan: TestPlan): boolean {
  if (!plan.root) return false;
  const filters = fileFilters(plan.root);
  if (filters.length === 0) return true;
  return filters.some(
    (a) =>
      /^(\.\/)?test\/?$|^(\.\/)?test\/(plugin|sandbox|engine|bench)/.test(a) || !a.includes('/'),
  );
}

/** Whether the run includes tests that boot VMs under QEMU: the engine's and the sandbox's. */
export function needsQemu(plan: TestPlan): boolean {
  if (!plan.root) return false;
  const filters = fileFilters(plan.root);
  if (filters.length === 0) return true;
  return filters.some(
    (a) => /^(\.\/)?test\/?$|^(\.\/)?(test\/)?(engine|sandbox)/.test(a) || !a.includes('/'),
  );
}

/**
 * Test files named `*.alone.test.ts` measure time (answers within so many milliseconds) and run
 * after the others, with nothing else testing on the machine.
 */
export const ALONE_SUFFIX = '.alone.test.ts';

/**
 * The vitest runs of the main suite: a whole run is everything but the timing tests, then the
 * timing tests alone; a run with arguments is those arguments, once.
 */
export function rootRuns(root: readonly string[]): string[][] {
  if (root.length > 0) return [[...root]];
  return [['--exclude', `**/*${ALONE_SUFFIX}`], [ALONE_SUFFIX]];
}
