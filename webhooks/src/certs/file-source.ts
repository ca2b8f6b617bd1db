// The serving pair from files: a certificate issued by someone else (cert-manager), mounted from
// its Secret. The files are polled for a change; nothing here writes to the cluster.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CertSource } from './cert-source.ts';

/**
 * Certificates issued by someone else (cert-manager), mounted as files. No self-management: the
 * files are re-read when they change, and cert-manager's CA injector keeps caBundle current.
 */
export class FileCertSource implements CertSource {
  private readonly dir: string;
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private mtime = 0;
  private pair?: { certPem: string; keyPem: string };

  constructor(dir: string, intervalMs = 5000) {
    this.dir = dir;
    this.intervalMs = intervalMs;
  }

  private load(): boolean {
    const m = Math.max(
      statSync(join(this.dir, 'tls.crt')).mtimeMs,
      statSync(join(this.dir, 'tls.key')).mtimeMs,
    );
    if (m === this.mtime && this.pair) return false;
    this.pair = {
      certPem: readFileSync(join(this.dir, 'tls.crt'), 'utf8'),
      keyPem: readFileSync(join(this.dir, 'tls.key'), 'utf8'),
    };
    this.mtime = m;
    return true;
  }

  current(): { certPem: string; keyPem: string } {
    if (!this.pair) this.load();
    return this.pair as { certPem: string; keyPem: string };
  }

  async start(onChange: (c: { certPem: string; keyPem: string }) => void): Promise<void> {
    this.load();
    this.timer = setInterval(() => {
      try {
        if (this.load() && this.pair) onChange(this.pair);
      } catch {
        /* mid-rotation: files briefly missing; next tick */
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
