// Names of rules as reports, exceptions, the CLI and the UI show them.

/** The name of the CEL validation at `index`: its own name, else `cel-<index>`. */
export function celRuleName(v: { name?: string }, index: number): string {
  return v.name ?? `cel-${index}`;
}
