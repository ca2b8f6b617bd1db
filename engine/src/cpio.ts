// A newc ("SVR4 no CRC") cpio archive, the format the Linux kernel unpacks as an initramfs.
// Pure: entries in, bytes out. Written here because it is forty lines and the cpio tool would be
// one more package to install.

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex = (n: number): string => n.toString(16).padStart(8, '0');
const pad4 = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

function record(ino: number, mode: number, name: string, data: Buffer, dev = [0, 0]): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const header = Buffer.from(
    [
      '070701',
      hex(ino),
      hex(mode),
      hex(0), // uid
      hex(0), // gid
      hex((mode & 0o170000) === S_IFDIR ? 2 : 1), // nlink
      hex(0), // mtime
      hex(data.length),
      hex(0), // devmajor
      hex(0), // devminor
      hex(dev[0] ?? 0), // rdevmajor
      hex(dev[1] ?? 0), // rdevminor
      hex(nameBytes.length),
      hex(0), // check
    ].join(''),
  );
  const head = Buffer.concat([header, nameBytes]);
  return Buffer.concat([head, pad4(head.length), data, pad4(data.length)]);
}

/** The archive: each entry (paths without a leading slash), then the TRAILER!!! record. */
export function newc(entries: readonly CpioEntry[]): Buffer {
  const parts = entries.map((e, i) => {
    const ino = i + 1;
    switch (e.type) {
      case 'dir':
        return record(ino, S_IFDIR | (e.mode ?? 0o755), e.path, Buffer.alloc(0));
      case 'file':
        return record(ino, S_IFREG | (e.mode ?? 0o644), e.path, Buffer.from(e.data));
      case 'symlink':
        return record(ino, S_IFLNK | 0o777, e.path, Buffer.from(e.target));
      case 'char':
        return record(ino, S_IFCHR | (e.mode ?? 0o600), e.path, Buffer.alloc(0), [
          e.major,
          e.minor,
        ]);
    }
  });
  return Buffer.concat([...parts, record(0, 0, 'TRAILER!!!', Buffer.alloc(0))]);
}
