// What a QEMU command line may hold: every value from a VM's spec is checked here before it goes
// on the command line, and a value that is not accepted is refused with an error naming the
// field, the value and what is accepted.

/** A value the command line does not accept: which field, what value, what would do. */
export class QemuSpecError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
    readonly accepted: string,
  ) {
    super(
      `${field}: ${JSON.stringify(value) ?? String(value)} is not accepted; accepted: ${accepted}`,
    );
    this.name = 'QemuSpecError';
  }
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
