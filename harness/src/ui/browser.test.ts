import { describe, expect, it } from 'vitest';
import { planBrowser } from './browser.ts';

describe('planBrowser', () => {
  it('uses the browser that is there', () => {
    expect(planBrowser({ present: true, root: false, apt: false })).toEqual({
      action: 'use',
      path: '/usr/bin/chromium',
    });
    expect(
      planBrowser({ configured: '/opt/c/chrome', present: true, root: true, apt: true }),
    ).toEqual({ action: 'use', path: '/opt/c/chrome' });
  });

  it("installs Debian's package when running as root with apt", () => {
    expect(planBrowser({ present: false, root: true, apt: true })).toEqual({
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', 'chromium'],
      ],
    });
  });

  it('stops with one line saying what to run when it may not install', () => {
    expect(planBrowser({ present: false, root: false, apt: true })).toEqual({
      action: 'stop',
      message:
        'the browser tests need Chromium at /usr/bin/chromium: run `sudo apt-get install chromium` (or set VMPLANE_CHROMIUM to a Chromium binary), then npm test again',
    });
    expect(planBrowser({ present: false, root: true, apt: false })).toMatchObject({
      action: 'stop',
      message: expect.stringContaining("install Chromium from your system's packages"),
    });
  });

  it('never installs over a configured path that is missing', () => {
    expect(
      planBrowser({ configured: '/nope/chrome', present: false, root: true, apt: true }),
    ).toEqual({
      action: 'stop',
      message:
        "VMPLANE_CHROMIUM=/nope/chrome does not exist: point it at a Chromium binary, or unset it to use Debian's chromium package",
    });
  });
});
