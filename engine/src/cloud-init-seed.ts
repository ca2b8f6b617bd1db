// The NoCloud seed of an instance, made as virt-launcher makes it (KubeVirt v1.7
// pkg/cloud-init/cloud-init.go, GenerateLocalData with the noCloud data source): a folder with
// `meta-data` (JSON: instance-id, local-hostname, instance-type and public-keys when there are
// some), `user-data` and, when given, `network-config`, packed into an ISO 9660 image with the
// volume id `cidata` (the label cloud-init's NoCloud data source looks for), written beside as
// `noCloud.iso.staging` and renamed into place. KubeVirt runs xorrisofs; Debian's genisoimage
// makes the same kind of image (Joliet and Rock Ridge) from the same folder.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The file virt-launcher names the seed (cloud-init.go's noCloudFile). */
export const NOCLOUD_ISO = 'noCloud.iso';
/** The volume id cloud-init's NoCloud data source looks for. */
export const NOCLOUD_VOLID = 'cidata';

/** `spec.volumes[].cloudInitNoCloud` of a VirtualMachineInstance (KubeVirt v1 API). */
export interface NoCloudSource {
  userData?: string;
  userDataBase64?: string;
  networkData?: string;
  networkDataBase64?: string;
  userDataSecretRef?: { name?: string };
  networkDataSecretRef?: { name?: string };
}

/** A Secret's data, decoded (key → text), as virt-launcher sees it mounted. */
export type SecretData = Record<string, string>;

export interface SeedInput {
  userData: string;
  networkData?: string;
  /** The firmware UUID of the instance (KubeVirt's cloudInitUUIDFromVMI). */
  instanceId: string;
  hostname?: string;
  /** The instance type's name, from the VM's instancetype annotations. */
  instanceType?: string;
  /** SSH public keys from accessCredentials with the noCloud propagation method. */
  publicKeys?: string[];
}

export type SeedFiles = Record<'meta-data' | 'user-data', string> & { 'network-config'?: string };

/** The guest's host name as KubeVirt gives it (pkg/util/net/dns/sanitize.go, SanitizeHostname):
 * spec.hostname when set, else the instance name up to its first dot, at most 63 characters. */
export function seedHostname(vmi: { metadata: { name: string }; spec?: { hostname?: string } }) {
  if (vmi.spec?.hostname) return vmi.spec.hostname;
  return (vmi.metadata.name.split('.')[0] ?? '').slice(0, 63);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function rawOrBase64(raw: string | undefined, b64: string | undefined, field: string): string {
  if (raw) return raw;
  if (!b64) return '';
  const compact = b64.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact))
    throw new Error(
      `cloudInitNoCloud.${field}: "${b64.slice(0, 40)}" is not base64 (standard alphabet, padded)`,
    );
  return Buffer.from(compact, 'base64').toString('utf8');
}

/** The first of the keys virt-launcher reads from a referenced Secret (userdata, then userData). */
function fromSecret(data: SecretData | undefined, keys: string[]): string | undefined {
  if (!data) return undefined;
  for (const k of keys) if (data[k] !== undefined) return data[k];
  return undefined;
}

/**
 * The user and network data of a cloudInitNoCloud volume (cloud-init.go's
 * readCloudInitNoCloudSource and resolveNoCloudSecrets): a referenced Secret's `userdata` (or
 * `userData`) and `networkdata` (or `networkData`) win over the inline fields; inline text wins
 * over base64. At least one of the two must be there.
 */
export function noCloudData(
  volumeName: string,
  source: NoCloudSource,
  secrets: { user?: SecretData; network?: SecretData } = {},
): { userData: string; networkData: string } {
  const s = { ...source };
  const refs = s.userDataSecretRef || s.networkDataSecretRef;
  const user = s.userDataSecretRef ? fromSecret(secrets.user, ['userdata', 'userData']) : undefined;
  const network = s.networkDataSecretRef
    ? fromSecret(secrets.network, ['networkdata', 'networkData'])
    : undefined;
  if (refs && user === undefined && network === undefined)
    throw new Error(`no cloud-init data-source found at volume: ${volumeName}`);
  if (user) s.userData = user;
  if (network) s.networkData = network;
  const userData = rawOrBase64(s.userData, s.userDataBase64, 'userDataBase64');
  const networkData = rawOrBase64(s.networkData, s.networkDataBase64, 'networkDataBase64');
  if (!userData && !networkData)
    throw new Error(
      `volume ${volumeName}: userDataBase64, userData, networkDataBase64 or networkData is required for a cloud-init data source`,
    );
  return { userData, networkData };
}

/** JSON as Go's encoding/json writes it: <, > and & (and U+2028/9) escaped. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The seed's files (cloud-init.go's NoCloudMetadata, marshalled in its field order). */
export function seedFiles(input: SeedInput): SeedFiles {
  if (!input.instanceId)
    throw new Error('seed instanceId: "" is empty (the instance firmware UUID is expected)');
  if (!input.userData && !input.networkData)
    throw new Error('seed: userData or networkData is required for a cloud-init data source');
  const meta: Record<string, unknown> = {};
  if (input.instanceType) meta['instance-type'] = input.instanceType;
  meta['instance-id'] = input.instanceId;
  if (input.hostname) meta['local-hostname'] = input.hostname;
  let json = goJson(meta);
  const keys = (input.publicKeys ?? []).filter(Boolean);
  if (keys.length) {
    // Go writes a map's keys sorted as strings ("0", "1", "10", "2"...); a JavaScript object
    // would put integer-like keys in numeric order, so this member is written by hand.
    const entries = keys.map((k, i) => [String(i), k] as const);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const map = entries.map(([i, k]) => `${goJson(i)}:${goJson(k)}`).join(',');
    json = `${json.slice(0, -1)},"public-keys":{${map}}}`;
  }
  const files: SeedFiles = { 'meta-data': json, 'user-data': input.userData };
  if (input.networkData) files['network-config'] = input.networkData;
  return files;
}

/** The genisoimage command for a seed folder (what KubeVirt's defaultIsoFunc asks xorrisofs). */
export function seedIsoArgs(output: string, folder: string): string[] {
  return ['-output', output, '-volid', NOCLOUD_VOLID, '-joliet', '-rock', folder];
}

/**
 * Writes the seed into `dir` as noCloud.iso (staged, then renamed, so a reader never sees half an
 * image) and returns its path. The data files live in a scratch folder inside `dir` only while
 * the image is made: the user data may hold secrets.
 */
export async function makeSeedIso(dir: string, files: SeedFiles): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const iso = join(dir, NOCLOUD_ISO);
  const staging = `${iso}.staging`;
  const data = mkdtempSync(join(dir, 'nocloud-data-'));
  try {
    for (const [name, text] of Object.entries(files))
      if (text !== undefined) writeFileSync(join(data, name), text, { mode: 0o600 });
    rmSync(staging, { force: true });
    await run('genisoimage', ['-quiet', ...seedIsoArgs(staging, data)], { timeout: 10_000 }).catch(
      (e: Error) => {
        throw new Error(
          `genisoimage could not make the cloud-init seed ${iso} (install Debian's genisoimage): ${e.message}`,
        );
      },
    );
    renameSync(staging, iso);
    return iso;
  } finally {
    rmSync(data, { recursive: true, force: true });
    rmSync(staging, { force: true });
  }
}
