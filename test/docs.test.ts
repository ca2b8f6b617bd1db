// The documentation's links lead somewhere: every relative link in the README, docs/ and the
// folders' READMEs names a file or folder of the repository (as a clone holds it: tracked files and
// new ones, not ignored ones), and every #anchor into a markdown file names one of its headings,
// by GitHub's rules for heading anchors. Links inside code are not links and are not checked.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { SAID, saidTable } from '../engine/src/reasons.ts';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../api/src/paths.ts';

/** The pages whose links are checked, relative to the repository. */
const PAGES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
  'controllers/README.md',
  'plugin/README.md',
];

/** The repository's files as a clone holds them, and every folder above them. */
function repositoryPaths(): Set<string> {
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  }).stdout.split('\0');
  const paths = new Set<string>(['']);
  for (const f of files.filter(Boolean)) {
    for (let p = f; p !== '.' && !paths.has(p); p = posix.dirname(p)) paths.add(p);
  }
  return paths;
}

/** A page without its fenced code blocks, lines kept in place. */
function withoutCodeBlocks(markdown: string): string {
  let fence: string | undefined;
  const lines = markdown.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) fence = marker;
    else if (fence !== undefined && marker?.startsWith(fence)) fence = undefined;
    else if (fence === undefined) return line;
    return '';
  });
  return lines.join('\n');
}

/** The text a reader sees as prose: code blocks and code spans blanked, lines kept in place. */
function prose(markdown: string): string {
  return withoutCodeBlocks(markdown).replace(/(`+)[\s\S]*?\1/g, (span) =>
    span.replace(/[^\n]/g, ' '),
  );
}

/** GitHub's anchor for a heading: its text, lowercased, punctuation but - and _ dropped, spaces to -. */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings; a repeated heading gets -1, -2, ... as on GitHub. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  // Headings are read from the page without its code blocks, their code spans' text included.
  for (const m of withoutCodeBlocks(markdown).matchAll(
    /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm,
  )) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) out.add(m[1]!);
  return out;
}

interface Link {
  target: string;
  line: number;
}

/** The links of a page: inline links and images, and reference definitions. */
export function linksOf(markdown: string): Link[] {
  const text = prose(markdown);
  const lineAt = (index: number): number => text.slice(0, index).split('\n').length;
  const inline = /!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g;
  const reference = /^ {0,3}\[[^\]]+\]:[ \t]*<?([^\s>]+)>?/gm;
  return [...text.matchAll(inline), ...text.matchAll(reference)]
    .map((m) => ({ target: m[1]!, line: lineAt(m.index) }))
    .sort((a, b) => a.line - b.line);
}

/**
 * Every broken link of `page` (a path relative to the repository, read through `read`), as
 * "page:line: target: why". Links with a scheme (https:, mailto:) are not the repository's.
 */
export function brokenLinks(
  page: string,
  read: (path: string) => string,
  paths: Set<string>,
): string[] {
  const broken: string[] = [];
  for (const { target, line } of linksOf(read(page))) {
    if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(target)) continue;
    const [rawPath = '', rawAnchor] = target.split('#', 2);
    const path = decodeURIComponent(rawPath);
    const file = !path
      ? page
      : posix
          .normalize(path.startsWith('/') ? path.slice(1) : posix.join(posix.dirname(page), path))
          .replace(/\/$/, '');
    const why = (reason: string): void => {
      broken.push(`${page}:${line}: ${target}: ${reason}`);
    };
    if (!target) why('an empty link');
    else if (file.startsWith('..') || !paths.has(file === '.' ? '' : file))
      why(`${file} is not a file or folder of the repository`);
    else if (rawAnchor !== undefined && file.endsWith('.md')) {
      const anchor = decodeURIComponent(rawAnchor);
      if (!anchors(read(file)).has(anchor))
        why(`${file} has no heading whose anchor is #${anchor}`);
    }
  }
  return broken;
}

const readRepo = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

describe("the documentation's links", () => {
  const paths = repositoryPaths();

  it('reads the README, every page of docs/ and the folders with a README', () => {
    expect(PAGES).toEqual(expect.arrayContaining(['README.md', 'docs/development.md']));
    expect(PAGES.length).toBeGreaterThan(5);
  });

  it.each(PAGES)('%s: every relative link leads to a file, every #anchor to a heading', (page) => {
    expect(brokenLinks(page, readRepo, paths)).toEqual([]);
  });

  it('makes anchors as GitHub does', () => {
    const page = [
      '# vmplane',
      '## Admission webhooks (`webhooks/`)',
      '### `npm start` with the local engine',
      '## Dependencies, and why',
      '## Decisions',
      '## Decisions',
      '```sh',
      '# not a heading',
      '```',
    ].join('\n');
    expect([...anchors(page)]).toEqual([
      'vmplane',
      'admission-webhooks-webhooks',
      'npm-start-with-the-local-engine',
      'dependencies-and-why',
      'decisions',
      'decisions-1',
    ]);
  });

  it('names the page, the line and the link that leads nowhere, and ignores links in code', () => {
    const pages: Record<string, string> = {
      'docs/a.md': [
        '# A',
        'See [b](b.md#part-two), [gone](b.md#part-three) and [missing](../nowhere.md).',
        '`[in code](nowhere.md)` and [the web](https://example.com) and [top](#a).',
        '```',
        '[in a block](nowhere.md)',
        '```',
      ].join('\n'),
      'docs/b.md': '# B\n## Part two\n',
    };
    const read = (p: string): string => pages[p] ?? '';
    expect(brokenLinks('docs/a.md', read, new Set(['', 'docs', ...Object.keys(pages)]))).toEqual([
      'docs/a.md:2: b.md#part-three: docs/b.md has no heading whose anchor is #part-three',
      'docs/a.md:2: ../nowhere.md: nowhere.md is not a file or folder of the repository',
    ]);
  });
});

describe("the local engine's table of what it says", () => {
  it('docs/engine.md shows the table engine/src/reasons.ts holds', () => {
    expect(readRepo('docs/engine.md')).toContain(saidTable());
  });

  it('every reason in it is one the engine’s code writes', () => {
    const dir = join(REPO_ROOT, 'engine', 'src');
    const code = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'reasons.ts')
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const missing = SAID.filter((s) => s.reason !== '(none)' && !code.includes(`'${s.reason}'`));
    expect(missing.map((s) => s.reason)).toEqual([]);
  });
});
