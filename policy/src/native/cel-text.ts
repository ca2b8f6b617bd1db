// CEL source as text: literals for generated expressions, and what a policy author's expression
// refers to. The scan is lexical (CEL's tokens: strings of every quoting, comments, identifiers,
// selections), so a name inside a string or a field selection (object.spec.image) is not taken
// for a variable; anything it cannot place counts as a reference, never as harmless.

/** A CEL string literal for `s` (JSON's escapes are CEL's: \", \\, \n, \uXXXX). */
export const celString = (s: string): string => JSON.stringify(s);

/** A CEL list literal of strings. */
export const celList = (xs: readonly string[]): string => `[${xs.map(celString).join(', ')}]`;

type Token = { kind: 'ident' | 'punct' | 'literal'; text: string };

const IDENT = /[_a-zA-Z][_a-zA-Z0-9]*/y;
const NUMBER = /(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[uU]?/y;

/** The end of the string literal starting at `i` (after any r/b prefix), or -1. */
function stringEnd(src: string, i: number, raw: boolean): number {
  const q = src[i] as string;
  const triple = src.startsWith(q.repeat(3), i);
  const close = triple ? q.repeat(3) : q;
  let j = i + close.length;
  while (j < src.length) {
    if (!raw && src[j] === '\\') {
      j += 2;
      continue;
    }
    if (src.startsWith(close, j)) return j + close.length;
    if (!triple && src[j] === '\n') return -1;
    j++;
  }
  return -1;
}

/** CEL tokens of an expression; undefined when it cannot be read (an unterminated string). */
export function celTokens(src: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (src.startsWith('//', i)) {
      const nl = src.indexOf('\n', i);
      i = nl < 0 ? src.length : nl + 1;
      continue;
    }
    const prefix = /^[rRbB]{1,2}(?=['"])/.exec(src.slice(i, i + 3))?.[0] ?? '';
    if (c === '"' || c === "'" || prefix) {
      const end = stringEnd(src, i + prefix.length, /r/i.test(prefix));
      if (end < 0) return undefined;
      out.push({ kind: 'literal', text: src.slice(i, end) });
      i = end;
      continue;
    }
    if (c === '`') {
      // A quoted field name (object.`my-field`): a selection, never a variable.
      const end = src.indexOf('`', i + 1);
      if (end < 0) return undefined;
      out.push({ kind: 'literal', text: src.slice(i, end + 1) });
      i = end + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const num =
      /[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? '')) ? NUMBER.exec(src) : null;
    if (num) {
      out.push({ kind: 'literal', text: num[0] });
      i += num[0].length;
      continue;
    }
    IDENT.lastIndex = i;
    const id = IDENT.exec(src);
    if (id) {
      out.push({ kind: 'ident', text: id[0] });
      i += id[0].length;
      continue;
    }
    out.push({ kind: 'punct', text: c });
    i++;
  }
  return out;
}

/**
 * Every variable reference of an expression with the field path selected from it
 * (`request.userInfo.username` → ['request', 'userInfo', 'username']; optional selections `.?`
 * count as selections; an index or a call ends the path). Identifiers that are selected from
 * something (`x.image`) are not variables. Undefined when the expression cannot be read.
 */
export function celReferences(src: string): string[][] | undefined {
  const tokens = celTokens(src);
  if (!tokens) return undefined;
  const refs: string[][] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.kind !== 'ident') continue;
    const prev = tokens[i - 1];
    const selected = prev?.text === '.' || (prev?.text === '?' && tokens[i - 2]?.text === '.');
    if (selected) continue;
    const path = [t.text];
    let j = i + 1;
    for (;;) {
      if (tokens[j]?.text !== '.') break;
      const k = tokens[j + 1]?.text === '?' ? j + 2 : j + 1;
      const next = tokens[k];
      if (next?.kind !== 'ident') break;
      // A method call (x.size()) ends the path: the method is not a field.
      if (tokens[k + 1]?.text === '(') break;
      path.push(next.text);
      j = k + 1;
    }
    refs.push(path);
  }
  return refs;
}
