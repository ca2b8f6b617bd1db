// `npm run package`: the tarball Headlamp installs, and the artifacthub-pkg.yml that points at it.
//
// headlamp-plugin package names the tarball's top folder after the folder it packs, so the
// built plugin is staged in a folder named after the plugin ("vmplane") and packed from there.
// Then artifacthub-pkg.yml is written with the tarball's version, release URL and SHA-256.
//
//   node scripts/package.mjs [--out DIR] [--pkg FILE] [--base-url URL]
//     --out       where the tarball goes (default: this folder)
//     --pkg       the artifacthub-pkg.yml to write (default: ./artifacthub-pkg.yml)
//     --base-url  where the release tarball is published (default: the GitHub release)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: here },
    pkg: { type: 'string', default: join(here, 'artifacthub-pkg.yml') },
    'base-url': {
      type: 'string',
      default: `https://github.com/vmplane/vmplane/releases/download/plugin-v${pkg.version}`,
    },
  },
});

if (!existsSync(join(here, 'dist', 'main.js'))) {
  console.error('dist/main.js is missing: run `npm run build` first.');
  process.exit(1);
}

const out = resolve(values.out);
const tarballName = `${pkg.name}-${pkg.version}.tar.gz`;
const tarball = join(out, tarballName);
// headlamp-plugin refuses to overwrite a tarball; a new package replaces the old one.
rmSync(tarball, { force: true });

const staging = mkdtempSync(join(tmpdir(), 'vmplane-package-'));
try {
  const folder = join(staging, pkg.name);
  cpSync(join(here, 'dist'), join(folder, 'dist'), { recursive: true });
  cpSync(join(here, 'locales'), join(folder, 'locales'), { recursive: true });
  cpSync(join(here, 'package.json'), join(folder, 'package.json'));
  const r = spawnSync(join(here, 'node_modules', '.bin', 'headlamp-plugin'), ['package', folder, out], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
} finally {
  rmSync(staging, { recursive: true, force: true });
}

const sha256 = createHash('sha256').update(readFileSync(tarball)).digest('hex');
const q = s => JSON.stringify(s);
writeFileSync(
  values.pkg,
  `# Artifact Hub's entry for the vmplane Headlamp plugin. Written by \`npm run package\` in
# plugin/: the checksum is that of the tarball it made, which the release publishes at
# archive-url. Package again (and commit this file) for every release.
version: ${q(pkg.version)}
name: ${q(pkg.name)}
displayName: "vmplane: virtual machines"
createdAt: ${q(new Date().toISOString().replace(/\.\d+Z$/, 'Z'))}
description: ${q(pkg.description)}
license: ${q(pkg.license)}
homeURL: "https://github.com/vmplane/vmplane"
keywords:
  - virtual machines
  - kubevirt
  - policy
  - headlamp
annotations:
  headlamp/plugin/archive-url: ${q(`${values['base-url']}/${tarballName}`)}
  headlamp/plugin/archive-checksum: ${q(`SHA256:${sha256}`)}
  headlamp/plugin/distro-compat: "in-cluster,web,desktop"
links:
  - name: source
    url: "https://github.com/vmplane/vmplane/tree/main/plugin"
provider:
  name: vmplane
`
);
console.log(`${tarball}\nsha256 ${sha256}\nwrote ${values.pkg}`);
