// The VM's folder: QEMU's sockets (console, control, screen) live in it, and whoever can connect
// to them owns the guest. QEMU makes the sockets with whatever mode the umask gives, so the
// folder's mode is what protects them: 0700, owned by the engine's user, a real folder (not a
// link to somewhere else). The sockets are made the owner's alone too, once QEMU made them.
import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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
