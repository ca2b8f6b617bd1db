// Kubernetes resource quantities (`16Gi`, `8192Mi`, `1.5G`, `100m`, `1e3`), compared exactly. The
// value is kept as a bigint count of nano-units, so `16Gi > 8192Mi` and `0.5Gi == 512Mi` hold
// without floating-point surprises.

const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
// A number (digits before or after the point, as Kubernetes accepts .5Gi) and an optional suffix.
const PATTERN =
  /^([+-]?)(?=\.?\d)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

export class Quantity {
  /** The value in nano-units (10^-9). */
  readonly nanos: bigint;
  readonly text: string;

  constructor(nanos: bigint, text: string) {
    this.nanos = nanos;
    this.text = text;
  }

  compareTo(other: Quantity): -1 | 0 | 1 {
    return this.nanos === other.nanos ? 0 : this.nanos > other.nanos ? 1 : -1;
  }

  add(other: Quantity): Quantity {
    return new Quantity(this.nanos + other.nanos, `${this.text}+${other.text}`);
  }

  /** Whole units, rounded up (as Kubernetes does for bytes). */
  asInteger(): bigint {
    const q = this.nanos / 1_000_000_000n;
    return this.nanos % 1_000_000_000n > 0n ? q + 1n : q;
  }

  toString(): string {
    return this.text;
  }
}

export function isQuantity(s: unknown): s is string {
  return typeof s === 'string' && PATTERN.test(s.trim());
}

/** Parses a quantity; throws with the accepted forms when it is not one. */
export function parseQuantity(input: string | number): Quantity {
  const s = String(input).trim();
  const m = PATTERN.exec(s);
  if (!m)
    throw new Error(
      `"${s}" is not a quantity: write a number with an optional suffix, such as 16Gi, 500M, 1.5, 100m or 1e3`,
    );
  const [, sign, whole = '', frac = '', suffix, exp] = m;
  let mantissa = BigInt(`${whole}${frac}` || '0');
  let pow10 = 9 - frac.length;
  let binary = 0n;
  if (suffix && suffix in BINARY) binary = BigInt(10 * (BINARY[suffix] ?? 0));
  else if (suffix !== undefined) pow10 += DECIMAL[suffix] ?? 0;
  else if (exp !== undefined) pow10 += Number(exp);
  mantissa <<= binary;
  const nanos = pow10 >= 0 ? mantissa * 10n ** BigInt(pow10) : mantissa / 10n ** BigInt(-pow10);
  return new Quantity(sign === '-' ? -nanos : nanos, s);
}

export function compareQuantities(a: string, b: string): -1 | 0 | 1 {
  return parseQuantity(a).compareTo(parseQuantity(b));
}
