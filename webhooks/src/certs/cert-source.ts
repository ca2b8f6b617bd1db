// Where the webhook server gets its serving pair: certificates that manage themselves in Secrets
// (secret-manager.ts, the default) or certificates issued by someone else, mounted as files
// (file-source.ts). The server starts with the current pair and swaps in each new one.

/** Where the serving pair comes from. */
export interface CertSource {
  /** The serving pair now. */
  current(): { certPem: string; keyPem: string };
  start(onChange: (c: { certPem: string; keyPem: string }) => void): Promise<void>;
  stop(): void;
}
