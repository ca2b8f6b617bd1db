// Kubernetes warnings from `Warning: 299 - "text"` response headers. Pure: shared by `kubectl vm`
// and the Headlamp plugin (where fetch joins repeated headers with ", ").
export function parseWarnings(header: string | string[] | null | undefined): string[] {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  const out: string[] = [];
  for (const v of values) {
    for (const m of v.matchAll(/\d{3} [^ ]+ "((?:[^"\\]|\\.)*)"/g))
      out.push((m[1] ?? '').replace(/\\(.)/g, '$1'));
  }
  return out;
}
