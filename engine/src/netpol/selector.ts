// Kubernetes label selectors (metav1.LabelSelector) and IPv4 CIDRs, as NetworkPolicy uses them. Pure.

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether the labels match; an empty selector matches everything (metav1.LabelSelectorAsSelector). */
export function matches(selector: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key] ?? '');
    switch (e.operator) {
      case 'In':
        if (!inValues) return false;
        break;
      case 'NotIn':
        if (inValues) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(
          `label selector: operator ${JSON.stringify(e.operator)} is not accepted: In, NotIn, Exists, DoesNotExist`,
        );
    }
  }
  return true;
}

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export const ipToInt = (ip: string): number =>
  ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** An IPv4 CIDR as nft writes it (host bits cleared), or an error naming it. */
export function parseCidr(
  field: string,
  cidr: string,
): { base: number; bits: number; text: string } {
  const [ip = '', b = ''] = cidr.split('/');
  const bits = Number(b);
  const m = ipv4.exec(ip);
  if (!m || m.slice(1).some((o) => Number(o) > 255) || !/^\d{1,2}$/.test(b) || bits > 32)
    throw new Error(
      `${field}: ${JSON.stringify(cidr)} is not accepted: an IPv4 CIDR such as 10.0.0.0/8`,
    );
  const size = 2 ** (32 - bits);
  const base = Math.floor(ipToInt(ip) / size) * size;
  const text = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.');
  return { base, bits, text: `${text}/${bits}` };
}

export const inCidr = (c: { base: number; bits: number }, ip: string): boolean =>
  ipv4.test(ip) && Math.floor(ipToInt(ip) / 2 ** (32 - c.bits)) * 2 ** (32 - c.bits) === c.base;

export const isIPv4 = (s: string): boolean => ipv4.test(s);
