import { describe, expect, it } from 'vitest';
import { crdSchema } from './render.ts';
import type { Schema } from './schema.ts';
import { allKinds as kinds } from './v1alpha1/index.ts';

/** Every schema node below the root, with its dotted path. */
function* walk(s: Schema, path: string): Generator<[string, Schema]> {
  yield [path, s];
  for (const [k, v] of Object.entries(s.properties ?? {})) yield* walk(v, `${path}.${k}`);
  if (s.items) yield* walk(s.items, `${path}[]`);
}

describe.each(kinds.map((k) => [k.kind, k] as const))('%s schema', (_name, def) => {
  const nodes = [...walk(crdSchema(def), def.kind)];

  it('describes every field, so kubectl explain helps', () => {
    const undocumented = nodes
      .filter(([path]) => !path.endsWith('[]') && path !== `${def.kind}.metadata`)
      .filter(([, s]) => !s.description || s.description.length < 8)
      .map(([path]) => path);
    expect(undocumented).toEqual([]);
  });

  it('bounds every string and list, so CEL rules stay within the API server cost budget', () => {
    const unbounded = nodes
      .filter(([path]) => !/\.(apiVersion|kind)$/.test(path))
      .filter(
        ([, s]) =>
          (s.type === 'string' && s.maxLength === undefined && !s.enum) ||
          (s.type === 'array' && s.maxItems === undefined),
      )
      .map(([path]) => path);
    expect(unbounded).toEqual([]);
  });

  it('has printer columns whose paths exist in the schema', () => {
    const known = new Set(nodes.map(([p]) => p.replace(/\[\]/g, '')));
    for (const col of def.printerColumns) {
      const simple = col.jsonPath
        .replace(/\[\?\(.*?\)\]/g, '')
        .replace(/\[\d+\]/g, '')
        .replace(/^\./, '');
      if (simple.startsWith('metadata.')) continue;
      expect(known, `${col.name} -> ${col.jsonPath}`).toContain(`${def.kind}.${simple}`);
    }
  });

  it('lists short names and is named consistently', () => {
    // Other projects' kinds keep their own names (Multus: network-attachment-definitions).
    if (def.group) return expect(def.shortNames.length).toBeGreaterThan(0);
    expect(def.plural).toBe(def.kind.toLowerCase().replace(/y$/, 'ie').replace(/s$/, 'se') + 's');
    expect(def.singular).toBe(def.kind.toLowerCase());
    expect(def.shortNames.length).toBeGreaterThan(0);
  });
});

describe('VirtualMachine printer columns', () => {
  it('show what kubectl get vmpvm promises', () => {
    const vm = kinds.find((k) => k.kind === 'VirtualMachine');
    const shown = vm?.printerColumns.filter((c) => !c.priority).map((c) => c.name);
    expect(shown).toEqual(
      expect.arrayContaining(['CLASS', 'IMAGE', 'POWER', 'STATUS', 'IP', 'NODE', 'AGE']),
    );
  });
});
