// Reading multi-document YAML manifests (examples, CRDs) into plain objects.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface LoadedManifest {
  file: string;
  object: Manifest;
}

export function parseManifests(text: string, file = '<input>'): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const m = value as Partial<Manifest>;
    if (
      typeof m.apiVersion !== 'string' ||
      typeof m.kind !== 'string' ||
      typeof m.metadata?.name !== 'string'
    ) {
      throw new Error(`${file}: every document needs apiVersion, kind and metadata.name`);
    }
    out.push(m as Manifest);
  }
  return out;
}

/** Every manifest of the *.yaml files of a folder, files in name order. */
export function loadManifestDir(dir: string): LoadedManifest[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  return files.flatMap((f) =>
    parseManifests(readFileSync(join(dir, f), 'utf8'), f).map((object) => ({ file: f, object })),
  );
}
