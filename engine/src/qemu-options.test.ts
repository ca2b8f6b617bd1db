import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeOptionValue,
  optionString,
  parseOptionString,
  parseQemuArgs,
} from './qemu-options.ts';

describe("QEMU's option syntax", () => {
  it('doubles commas inside values, and reads them back as one value', () => {
    expect(escapeOptionValue('/a,b,,c')).toBe('/a,,b,,,,c');
    const s = optionString('socket', { id: 'c0', path: '/x,server=off/s.sock', server: true });
    expect(s).toBe('socket,id=c0,path=/x,,server=off/s.sock,server=on');
    expect(parseOptionString(s, 'backend')).toEqual({
      backend: 'socket',
      id: 'c0',
      path: '/x,server=off/s.sock',
      server: 'on',
    });
  });

  it('reads as QEMU does: the head only when no = comes before the first comma, bare keys as on', () => {
    expect(parseOptionString('q35,accel=tcg', 'type')).toEqual({ type: 'q35', accel: 'tcg' });
    expect(parseOptionString('type=q35', 'type')).toEqual({ type: 'q35' });
    expect(parseOptionString('unix:/a=b/v.sock', 'vnc')).toEqual({ 'unix:/a': 'b/v.sock' });
    expect(parseOptionString('driver=file,filename=/f,read-only')).toEqual({
      driver: 'file',
      filename: '/f',
      'read-only': 'on',
    });
    expect(parseOptionString('a=,b=1,')).toEqual({ a: '', b: '1' });
    expect(() => parseOptionString('virtio-net-pci,mac=1,mac=2', 'driver')).toThrow(
      /mac is set twice/,
    );
  });

  it('refuses keys and heads that are not its own words', () => {
    expect(() => optionString('a,b', {})).toThrow(/head "a,b"/);
    expect(() => optionString(undefined, { 'x=y': 1 })).toThrow(/key "x=y"/);
    expect(optionString(undefined, { a: undefined, b: false, c: 3 })).toBe('b=off,c=3');
  });

  it('reads any value back whole, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ unit: 'binary' }), (a, b) => {
        const s = optionString('virtio-blk-pci', { drive: a, id: b });
        expect(parseOptionString(s, 'driver')).toEqual({
          driver: 'virtio-blk-pci',
          drive: a,
          id: b,
        });
      }),
    );
  });

  it('reads a command line into its options, and refuses what it does not know', () => {
    expect(
      parseQemuArgs(['-nodefaults', '-m', '256M', '-kernel', '/k,x=y', '-device', 'e1000,id=n']),
    ).toEqual([
      { name: '-nodefaults' },
      { name: '-m', props: { size: '256M' } },
      { name: '-kernel', value: '/k,x=y' },
      { name: '-device', props: { driver: 'e1000', id: 'n' } },
    ]);
    expect(parseQemuArgs(['-blockdev', 'driver=file'])).toEqual([
      { name: '-blockdev', props: { driver: 'file' } },
    ]);
    expect(() => parseQemuArgs(['-hda', '/x'])).toThrow(/unknown QEMU option "-hda"/);
    expect(() => parseQemuArgs(['-device'])).toThrow(/-device has no argument/);
  });
});
