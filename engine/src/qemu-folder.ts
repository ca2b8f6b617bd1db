// The VM's folder: QEMU's sockets (console, control, screen) live in it, and whoever can connect
// to them owns the guest. QEMU makes the sockets with whatever mode the umask gives, so the
// folder's mode is what protects them: 0700, owned by the engine's user, a real folder (not a
// link to somewhere else). The sockets are made the owner's alone too, once QEMU made them.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkPath, QemuSpecError } from './qemu-spec.ts';

/** Checks that `dir` is a folder (not a link) owned by this process's user, with mode 0700. */
export function checkPrivateFolder(dir: string): void {
  const st = lstatSync(dir);
  const problem = !st.isDirectory()
    ? 'is not a folder (a link or a file)'
    : process.getuid && st.uid !== process.getuid()
      ? `belongs to user ${st.uid}, not to the engine's user ${process.getuid()}`
      : (st.mode & 0o777) !== 0o700
        ? `has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, not 0700`
        : undefined;
  if (problem)
    throw new Error(
      `the VM's folder ${dir} ${problem}: its sockets would be open to others, so QEMU does not start there`,
    );
}

/** Makes `dir` (and its missing parents) and makes it 0700, then checks it (checkPrivateFolder). */
export function makePrivateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing folder keeps its mode, and a new one's is masked by the umask: set it.
  if (lstatSync(dir).isDirectory()) chmodSync(dir, 0o700);
  checkPrivateFolder(dir);
}

/** Makes every socket in the folder the owner's alone (0600). */
export function makeSocketsPrivate(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isSocket()) chmodSync(join(dir, entry.name), 0o600);
}

/** A Unix socket's address holds a path of at most 107 bytes: sun_path is 108, with its NUL. */
export const SUN_PATH_MAX = 108;

export const serialSocket = (dir: string): string => join(dir, 'serial.sock');
export const qmpSocket = (dir: string): string => join(dir, 'qmp.sock');
export const vncSocket = (dir: string): string => join(dir, 'vnc.sock');
/** The sockets QEMU makes in the VM's folder. */
const SOCKETS = [serialSocket, qmpSocket, vncSocket];

/** Checks that `dir` is an absolute path and that every socket QEMU makes in it fits sun_path. */
export function checkSocketFolder(field: string, dir: unknown): string {
  checkPath(field, dir);
  for (const socket of SOCKETS) {
    const path = socket(dir as string);
    const bytes = Buffer.byteLength(path);
    if (bytes >= SUN_PATH_MAX)
      throw new QemuSpecError(
        field,
        dir,
        `a folder whose sockets fit in a Unix socket address: ${JSON.stringify(path)} is ${bytes} bytes, and a socket path holds at most ${SUN_PATH_MAX - 1} (sun_path is ${SUN_PATH_MAX} bytes with its NUL); instanceFolder(stateDir, key) gives short folders`,
      );
  }
  return dir as string;
}

/** Which instance of which VM a folder is for. */
export interface InstanceKey {
  namespace: string;
  name: string;
  /** The instance's uid (the VMI's): each instance then gets a folder of its own. */
  uid?: string;
}

/** The folder, under the state folder, that holds the instances' folders. */
export const INSTANCE_FOLDERS = 'run';

/**
 * A short folder for an instance, whatever the length of its namespace and name:
 * `<stateDir>/run/<20 hex digits>`, the digits a SHA-256 of namespace, name and uid (80 bits:
 * two instances share a folder only by a hash collision). Throws a QemuSpecError naming the 108-byte
 * limit when even this is too long for QEMU's sockets (the state folder is too deep).
 */
export function instanceFolder(stateDir: string, key: InstanceKey): string {
  checkPath('stateDir', stateDir);
  const id = createHash('sha256')
    .update(JSON.stringify([key.namespace, key.name, key.uid ?? '']))
    .digest('hex')
    .slice(0, 20);
  const dir = join(stateDir, INSTANCE_FOLDERS, id);
  try {
    return checkSocketFolder('stateDir', dir);
  } catch (e) {
    if (!(e instanceof QemuSpecError)) throw e;
    const room = SUN_PATH_MAX - 1 - Buffer.byteLength(serialSocket(`/${INSTANCE_FOLDERS}/${id}`));
    throw new QemuSpecError(
      'stateDir',
      stateDir,
      `a state folder of at most ${room} bytes, so that its instances' sockets (${INSTANCE_FOLDERS}/<20 hex digits>/serial.sock) fit in a Unix socket address (sun_path, ${SUN_PATH_MAX} bytes with its NUL)`,
    );
  }
}
