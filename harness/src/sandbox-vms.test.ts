import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { DEBIAN_VM, sandboxExamples } from './sandbox-vms.ts';

const vms = parseAllDocuments(readFileSync(join(REPO_ROOT, 'examples/50-vms.yaml'), 'utf8')).map(
  (d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { powerState?: string } },
);
const debian = (objects: typeof vms) => objects.find((o) => o.metadata.name === DEBIAN_VM.name);

describe('the examples the sandbox applies', () => {
  it('boot debian-1 by default, as written', () => {
    expect(debian(vms)?.spec.powerState).toBeUndefined();
    expect(sandboxExamples(vms, true)).toBe(vms);
  });

  it('make debian-1 stopped without Debian, leaving every other object as it is', () => {
    const out = sandboxExamples(vms, false);
    expect(debian(out)?.spec.powerState).toBe('PoweredOff');
    expect(debian(vms)?.spec.powerState).toBeUndefined();
    for (const [i, o] of out.entries())
      if (o.metadata.name !== DEBIAN_VM.name) expect(o).toBe(vms[i]);
    expect(out.find((o) => o.metadata.name === 'tiny-1')?.spec.powerState).toBeUndefined();
  });
});
