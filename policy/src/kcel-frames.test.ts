import { describe, expect, it } from 'vitest';
import { AnswerReader, encodeRequest } from './kcel-frames.ts';

function answer(id: number, json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + body.length);
  out.writeUInt32BE(4 + body.length, 0);
  out.writeUInt32BE(id, 4);
  body.copy(out, 8);
  return out;
}

describe('the native engine framing', () => {
  it('encodes a request: length, id, operation, each argument with its length', () => {
    const f = encodeRequest(7, 'check', ['a.b == "é"', 'bool', '']);
    expect(f.readUInt32BE(0)).toBe(f.length - 4);
    expect(f.readUInt32BE(4)).toBe(7);
    expect(f.toString('latin1', 8, 9)).toBe('k');
    const first = f.readUInt32BE(9);
    expect(first).toBe(Buffer.byteLength('a.b == "é"'));
    expect(f.toString('utf8', 13, 13 + first)).toBe('a.b == "é"');
    expect(f.readUInt32BE(13 + first)).toBe(4);
    expect(f.toString('utf8', 17 + first, 21 + first)).toBe('bool');
    expect(f.readUInt32BE(21 + first)).toBe(0);
    expect(f.length).toBe(25 + first);
  });

  it('reads answers split and joined in any way the pipe delivers them', () => {
    const bytes = Buffer.concat([answer(1, '{"v":"ü"}'), answer(2, '{}'), answer(0, '[1]')]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = new AnswerReader();
      const got = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
      expect(got).toEqual([
        { id: 1, json: '{"v":"ü"}' },
        { id: 2, json: '{}' },
        { id: 0, json: '[1]' },
      ]);
    }
    const r = new AnswerReader();
    const byByte = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
    expect(byByte.map((a) => a.id)).toEqual([1, 2, 0]);
  });

  it('refuses a frame too short to hold an id', () => {
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(2, 0);
    expect(() => new AnswerReader().push(bad)).toThrow(/frame of 2 bytes \(an id takes 4\)/);
  });
});
