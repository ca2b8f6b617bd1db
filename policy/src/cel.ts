// The CEL environment policies are written in: the variables ValidatingAdmissionPolicy users know
// (object, oldObject, request, namespaceObject) plus the resolved vmClass and image, and
// Kubernetes' quantity helpers so sizes compare as sizes. Expressions compile once (when the
// policy changes); evaluation reuses the compiled program.
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { isQuantity, parseQuantity, Quantity } from '../../api/src/quantity.ts';

export const CEL_VARIABLES = [
  'object',
  'oldObject',
  'request',
  'namespaceObject',
  'vmClass',
  'image',
] as const;

function createEnvironment(): Environment {
  const env = new Environment();
  env.registerType('Quantity', Quantity);
  for (const v of CEL_VARIABLES) env.registerVariable(v, 'dyn');
  env.registerFunction('quantity(string): Quantity', (s: string) => parseQuantity(s));
  env.registerFunction('isQuantity(string): bool', (s: string) => isQuantity(s));
  env.registerFunction('Quantity.compareTo(Quantity): int', (a: Quantity, b: Quantity) =>
    BigInt(a.compareTo(b)),
  );
  env.registerFunction(
    'Quantity.isGreaterThan(Quantity): bool',
    (a: Quantity, b: Quantity) => a.compareTo(b) > 0,
  );
  env.registerFunction(
    'Quantity.isLessThan(Quantity): bool',
    (a: Quantity, b: Quantity) => a.compareTo(b) < 0,
  );
  env.registerFunction('Quantity.add(Quantity): Quantity', (a: Quantity, b: Quantity) => a.add(b));
  env.registerFunction('Quantity.asInteger(): int', (a: Quantity) => a.asInteger());
  return env;
}

const env = createEnvironment();

export interface CelProgram {
  expression: string;
  run(vars: Record<string, unknown>): unknown;
}

export type Compiled = { ok: true; program: CelProgram } | { ok: false; error: string };

/** The error's first line and its position marker, as one line: `Unexpected token: EOF at 1:40`. */
function describeCelError(e: unknown, expression: string): string {
  const err = e as { message?: string; range?: { start?: number }; node?: { start?: number } };
  const msg = (err.message ?? String(e)).split('\n')[0]?.trim() ?? 'invalid expression';
  const offset = err.range?.start ?? err.node?.start;
  if (typeof offset === 'number') {
    const before = expression.slice(0, offset);
    const line = before.split('\n').length;
    const col = offset - before.lastIndexOf('\n');
    return `${msg} at line ${line}, column ${col}`;
  }
  // Fall back to the caret line the library draws under the expression.
  const lines = (err.message ?? '').split('\n');
  const caret = lines.findIndex((l) => /^\s*\^\s*$/.test(l));
  if (caret > 0) {
    const source = lines[caret - 1] ?? '';
    const col = (lines[caret] ?? '').indexOf('^') - (source.indexOf('|') + 2) + 1;
    const lineNo = /(\d+)\s*\|/.exec(source)?.[1] ?? '1';
    return `${msg} at line ${lineNo}, column ${col}`;
  }
  return msg;
}

export function compileCel(expression: string): Compiled {
  let parsed: ParseResult;
  try {
    parsed = env.parse(expression);
  } catch (e) {
    return { ok: false, error: describeCelError(e, expression) };
  }
  const checked = parsed.check();
  if (!checked.valid) return { ok: false, error: describeCelError(checked.error, expression) };
  return {
    ok: true,
    program: {
      expression,
      run: (vars) => parsed(vars),
    },
  };
}

/** A runtime error, in one line (`No such key: labels at line 1, column 15`). */
export function celRuntimeError(e: unknown, expression: string): string {
  return describeCelError(e, expression);
}
