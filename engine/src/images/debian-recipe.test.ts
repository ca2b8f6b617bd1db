import { describe, expect, it } from 'vitest';
import {
  buildMode,
  customizeScript,
  DEBIAN_CMDLINE,
  debianSources,
  diskLayout,
  mmdebstrapArgs,
  sfdiskScript,
  syslinuxCfg,
} from './debian-recipe.ts';
import { findTool, missingToolsPlan } from './debian-tools.ts';

describe('the Debian disk', () => {
  it('has a 128 MiB boot partition at 1 MiB and the root after it, to the end of 3 GiB', () => {
    const l = diskLayout();
    expect(l).toEqual({
      bootOffset: 1048576,
      bootBytes: 134217728,
      rootOffset: 135266304,
      rootBytes: 3085959168,
      diskBytes: 3221225472,
    });
    expect(sfdiskScript(l)).toBe(
      'label: dos\nstart=2048, size=262144, type=e, bootable\nstart=264192, size=6027264, type=83\n',
    );
  });

  it('refuses a size that is not whole MiB or too small to hold the system', () => {
    expect(() => diskLayout(3 * 2 ** 30 + 1)).toThrow(
      /disk size 3221225473: a whole number of MiB/,
    );
    expect(() => diskLayout(256 * 2 ** 20)).toThrow(/at least 641 MiB/);
  });

  it('boots straight into the kernel with the root by label and the serial console last', () => {
    const cfg = syslinuxCfg();
    expect(cfg).toContain('TIMEOUT 0');
    expect(cfg).toContain('  LINUX /vmlinuz\n  INITRD /initrd.img\n');
    expect(cfg).toContain(`  APPEND ${DEBIAN_CMDLINE}\n`);
    expect(DEBIAN_CMDLINE).toMatch(/^root=LABEL=root .*console=tty0 console=ttyS0\S* /);
    expect(DEBIAN_CMDLINE).toContain('net.ifnames=0');
  });
});

describe('the customize script', () => {
  const s = customizeScript();
  it('writes fstab and cloud-init settings, and removes what must be unique per guest', () => {
    expect(s).toContain('cat > "$R/etc/fstab" <<\'VMPLANE_EOF\'\nLABEL=root / ext4 ');
    expect(s).toContain('datasource_list: [NoCloud, None]');
    expect(s).toContain('package_update: false');
    expect(s).toContain('rm -f "$R"/etc/ssh/ssh_host_*');
    expect(s).toContain(': > "$R/etc/machine-id"');
    expect(s).toContain('rm -rf "$R"/var/lib/apt/lists/*');
    expect(s).toContain('systemctl enable systemd-networkd.service serial-getty@ttyS0.service');
  });

  it('drops the apt modules from cloud.cfg', () => {
    expect(s).toContain(`sed -i -E '/^ *- *apt-configure$/d' "$R/etc/cloud/cloud.cfg"`);
    expect(s).toContain('package-update-upgrade-install$/d');
  });
});

describe('debianSources', () => {
  it("keeps the machine's bookworm stanzas only, from deb822 and one-line files", () => {
    const text = debianSources([
      {
        path: '/etc/apt/sources.list.d/debian.sources',
        text: [
          'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg',
          'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main',
          'Types: deb-src\nURIs: http://x\nSuites: bookworm\nComponents: main',
        ].join('\n\n'),
      },
      {
        path: '/etc/apt/sources.list',
        text: '# c\ndeb http://security.debian.org/debian-security bookworm-security main contrib\ndeb https://other.example/apt stable main\n',
      },
    ]);
    expect(text).toBe(
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n\n' +
        'Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\nComponents: main contrib\n',
    );
  });

  it('says so when the machine has no Debian source', () => {
    expect(() => debianSources([{ path: '/etc/apt/sources.list', text: '' }])).toThrow(
      /no Debian bookworm source in this machine's apt sources/,
    );
  });
});

describe('the build commands', () => {
  it('uses root mode as root, unshare mode otherwise', () => {
    expect(buildMode(0)).toBe('root');
    expect(buildMode(1000)).toBe('unshare');
    const args = mmdebstrapArgs({
      mode: 'unshare',
      script: '/w/c.sh',
      work: '/w',
      tarball: '/w/r.tar',
      sources: '/w/d.sources',
    });
    expect(args.slice(0, 2)).toEqual(['--mode=unshare', '--variant=minbase']);
    expect(args).toContain('--customize-hook=sh /w/c.sh "$1"');
    expect(args).toContain('--customize-hook=copy-out /boot /w');
    expect(args.slice(-3)).toEqual(['bookworm', '/w/r.tar', '/w/d.sources']);
    expect(args.find((a) => a.startsWith('--include='))).toMatch(
      /linux-image-cloud-amd64.*cloud-init,qemu-guest-agent,openssh-server/,
    );
  });

  it('names the exact apt-get command for what is missing', () => {
    expect(missingToolsPlan([], true)).toBeUndefined();
    expect(missingToolsPlan(['mtools', 'syslinux', 'mtools'], true)).toEqual({
      missing: ['mtools', 'syslinux'],
      command: 'apt-get install -y mtools syslinux',
    });
    expect(missingToolsPlan(['uidmap'], false)?.command).toBe('sudo apt-get install -y uidmap');
    expect(findTool('sh', '/nonexistent')).toBeUndefined();
    expect(findTool('sfdisk', '')).toMatch(/sbin\/sfdisk$/);
  });
});
