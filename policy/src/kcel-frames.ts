// The native CEL engine's framing over its stdin and stdout (policy/kcel/native.go):
//   request: u32 length | u32 id | u8 op | per argument: u32 length, bytes
//   answer:  u32 length | u32 id | JSON
// Lengths and ids big-endian; a length counts what follows it.

/** The engine's operations and their codes on the wire. */
export const OPS = { configure: 'c', check: 'k', evaluate: 'e', retain: 'r' } as const;
export type Op = keyof typeof OPS;

/** One request frame. */
export function encodeRequest(id: number, op: Op, args: readonly string[]): Buffer {
  const parts = args.map((a) => Buffer.from(a, 'utf8'));
  const length = 5 + parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = Buffer.allocUnsafe(4 + length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(id, 4);
  out.write(OPS[op], 8, 'latin1');
  let at = 9;
  for (const p of parts) {
    out.writeUInt32BE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** An answer: the id of the request it answers (0: the engine's limits, once it is ready). */
export interface Answer {
  id: number;
  json: string;
}

/**
 * Reads answers as bytes arrive, in whatever pieces the pipe gives them; a frame too short to
 * hold an id is the engine breaking the protocol (an error).
 */
export class AnswerReader {
  private chunks: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer): Answer[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Answer[] = [];
    let buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.size);
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (n < 4) throw new Error(`CEL engine answered a frame of ${n} bytes (an id takes 4)`);
      if (buf.length < 4 + n) break;
      out.push({ id: buf.readUInt32BE(4), json: buf.toString('utf8', 8, 4 + n) });
      buf = buf.subarray(4 + n);
    }
    this.chunks = buf.length > 0 ? [buf] : [];
    this.size = buf.length;
    return out;
  }
}
