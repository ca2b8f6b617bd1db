// QEMU's option syntax, both ways. Most options take `head,key=value,key=value`: the head (when
// the option has an implied key, such as -device's driver) comes first without a key, and a comma
// inside a value is written twice. Writing every value through optionString is what keeps a value
// one value; parseQemuArgs reads a command line back the way QEMU does, so tests can check that
// every option holds exactly what was asked and nothing was injected.

/** A value written so QEMU reads it back whole: every comma doubled. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** Keys and heads are the builder's own constants: lower-case words, dots and dashes. */
const KEY = /^[a-z][a-z0-9._-]*$/;

/**
 * `head,key=value,...`: the head is a constant (a driver, a backend, a type) and never a value
 * from a user, since QEMU reads a head with `=` before its first comma as a key. Undefined values
 * are left out; booleans are on/off.
 */
export function optionString(
  head: string | undefined,
  props: Record<string, string | number | boolean | undefined>,
): string {
  const parts: string[] = [];
  if (head !== undefined) {
    if (!KEY.test(head)) throw new Error(`QEMU option head ${JSON.stringify(head)} is not a word`);
    parts.push(head);
  }
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (!KEY.test(key)) throw new Error(`QEMU option key ${JSON.stringify(key)} is not a word`);
    const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
    parts.push(`${key}=${escapeOptionValue(text)}`);
  }
  return parts.join(',');
}

/** One value from `at` up to the next single comma (a doubled comma is a comma in the value). */
function readValue(s: string, at: number): { value: string; next: number } {
  let value = '';
  let i = at;
  while (i < s.length) {
    if (s[i] === ',') {
      if (s[i + 1] !== ',') break;
      value += ',';
      i += 2;
    } else value += s[i++];
  }
  return { value, next: i + 1 };
}

/**
 * Reads `head,key=value,...` as QEMU does: the first part is the implied key's value when no `=`
 * comes before its first comma; a part without `=` elsewhere is a flag (`key` means key=on). A key
 * given twice is an error here (QEMU would keep one of them silently).
 */
export function parseOptionString(s: string, implied?: string): Record<string, string> {
  const props: Record<string, string> = {};
  const set = (key: string, value: string): void => {
    if (Object.hasOwn(props, key)) throw new Error(`${JSON.stringify(s)}: ${key} is set twice`);
    props[key] = value;
  };
  let at = 0;
  let first = true;
  while (at < s.length) {
    const nameEnd = s.slice(at).search(/[=,]/);
    const end = nameEnd < 0 ? s.length : at + nameEnd;
    if (first && implied !== undefined && end > at && s[end] !== '=') {
      const { value, next } = readValue(s, at);
      set(implied, value);
      at = next;
    } else if (s[end] === '=') {
      const { value, next } = readValue(s, end + 1);
      set(s.slice(at, end), value);
      at = next;
    } else {
      set(s.slice(at, end), 'on');
      at = end + 1;
    }
    first = false;
  }
  return props;
}

/** One option of a command line as QEMU reads it. */
export interface ParsedOption {
  /** The option, with its dash: `-device`. */
  name: string;
  /** The argument of an option that takes it whole (a path, a kernel command line). */
  value?: string;
  /** The key=value argument, read; the implied key (driver, type...) under its own name. */
  props?: Record<string, string>;
}

/** Options without an argument. */
const FLAGS = new Set(['-nodefaults', '-no-user-config', '-S', '-no-reboot', '-no-shutdown']);
/** Options whose argument QEMU takes as it is. */
const WHOLE = new Set(['-serial', '-kernel', '-initrd', '-append', '-vga']);
/** Options in key=value syntax, with the key of their head ('' when there is none). */
const KEYED: Record<string, string> = {
  '-machine': 'type',
  '-accel': 'accel',
  '-m': 'size',
  '-smp': 'cpus',
  '-display': 'type',
  '-chardev': 'backend',
  '-mon': 'chardev',
  '-netdev': 'type',
  '-device': 'driver',
  '-object': 'qom-type',
  '-blockdev': '',
  '-drive': '',
  '-sandbox': 'enable',
  '-vnc': 'vnc',
  // `unix:PATH,server=on,...`: QEMU reads what follows `unix:` as key=value too.
  '-qmp': 'target',
};

/**
 * Reads a QEMU command line (without the binary) into its options, in order. An option this
 * reader does not know, or one missing its argument, is an error: the builder uses these only.
 */
export function parseQemuArgs(args: readonly string[]): ParsedOption[] {
  const out: ParsedOption[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i] as string;
    if (FLAGS.has(name)) {
      out.push({ name });
      continue;
    }
    const keyed = Object.hasOwn(KEYED, name);
    if (!keyed && !WHOLE.has(name)) throw new Error(`unknown QEMU option ${JSON.stringify(name)}`);
    const value = args[++i];
    if (value === undefined) throw new Error(`QEMU option ${name} has no argument`);
    out.push(
      keyed ? { name, props: parseOptionString(value, KEYED[name] || undefined) } : { name, value },
    );
  }
  return out;
}
