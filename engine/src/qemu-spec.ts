// What a QEMU command line may hold: every value from a VM's spec is checked here before it goes
// on the command line, and a value that is not accepted is refused with an error naming the
// field, the value and what is accepted.
import { availableParallelism, totalmem } from 'node:os';

/** A value the command line does not accept: which field, what value, what would do. */
export class QemuSpecError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly accepted: string,
  ) {
    super(`${field}: ${shown(value)} is not accepted; accepted: ${accepted}`);
    this.name = 'QemuSpecError';
  }
}

/** A value as the error shows it: strings quoted (control characters escaped), numbers as they are. */
function shown(value: unknown): string {
  return typeof value === 'string' || (typeof value === 'object' && value !== null)
    ? JSON.stringify(value)
    : String(value);
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** A unicast MAC address, xx:xx:xx:xx:xx:xx (the first byte even: its multicast bit clear). */
export function checkMac(field: string, mac: unknown): string {
  const ok = typeof mac === 'string' && MAC.test(mac) && (parseInt(mac.slice(0, 2), 16) & 1) === 0;
  if (!ok || /^00(:00){5}$/.test(mac))
    throw new QemuSpecError(
      field,
      mac,
      'a unicast MAC address: six pairs of hex digits, xx:xx:xx:xx:xx:xx, the first byte even, not all zero',
    );
  return mac;
}

/** Linux's PATH_MAX (4096 bytes, with the terminating NUL). */
const PATH_MAX = 4096;

/** An absolute path of at most 4095 bytes, without control characters (a comma is fine: it is
 * escaped on the command line). */
export function checkPath(field: string, path: unknown): string {
  const ok =
    typeof path === 'string' &&
    path.startsWith('/') &&
    !/\p{Cc}/u.test(path) &&
    Buffer.byteLength(path) < PATH_MAX;
  if (!ok)
    throw new QemuSpecError(
      field,
      path,
      `an absolute path (starting with /) of at most ${PATH_MAX - 1} bytes, without control characters`,
    );
  return path;
}

/** What a guest may have at most: the engine refuses more, as KubeVirt does above a node's room. */
export interface QemuLimits {
  /** vCPUs per guest. */
  maxCpus: number;
  /** Guest memory in MiB. */
  maxMemoryMiB: number;
}

/** The defaults: this machine's CPUs and its memory. */
export const QEMU_LIMITS: Readonly<QemuLimits> = Object.freeze({
  maxCpus: availableParallelism(),
  maxMemoryMiB: Math.floor(totalmem() / 2 ** 20),
});

/** A whole number from 1 to `max`. */
export function checkCount(field: string, value: unknown, max: number, unit: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max)
    throw new QemuSpecError(field, value, `a whole number of ${unit} from 1 to ${max}`);
  return value;
}

/** x86's kernel command line holds 2048 bytes with its terminating NUL. */
const COMMAND_LINE_SIZE = 2048;

/** A kernel command line: printable, at most 2047 bytes. */
export function checkAppend(field: string, value: unknown): string {
  const ok =
    typeof value === 'string' &&
    !/\p{Cc}/u.test(value) &&
    Buffer.byteLength(value) < COMMAND_LINE_SIZE;
  if (!ok)
    throw new QemuSpecError(
      field,
      value,
      `a kernel command line of at most ${COMMAND_LINE_SIZE - 1} bytes, without control characters`,
    );
  return value;
}

/** One of the words an option takes. */
export function checkOneOf<T extends string>(
  field: string,
  value: unknown,
  words: readonly T[],
): T {
  if (!words.includes(value as T)) throw new QemuSpecError(field, value, words.join(' or '));
  return value as T;
}
