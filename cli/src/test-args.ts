// Which of the two test runs `npm test -- <args>` asks for. With no arguments, both. Paths under
// plugin/ go to the plugin's vitest (relative to plugin/); anything else goes to the main run.
// A run that is not asked for is undefined.
export interface TestPlan {
  root?: string[];
  plugin?: string[];
}

export function splitArgs(args: readonly string[]): TestPlan {
  if (args.length === 0) return { root: [], plugin: [] };
  const plugin = args.filter((a) => a === 'plugin' || a.startsWith('plugin/')).map((a) => a.replace(/^plugin\/?/, ''));
  const root = args.filter((a) => !(a === 'plugin' || a.startsWith('plugin/')));
  return {
    ...(root.length ? { root } : {}),
    ...(plugin.length ? { plugin: plugin.filter(Boolean) } : {}),
  };
}
