// What NetworkPolicy's peers are made of (pure): label selectors as metav1 matches them
// (api/src/selectors.ts: an empty selector matches everything) and ipBlock CIDRs, where one that is
// not an IPv4 CIDR is an error naming its field.
import { cidrText, parseCidr as parse, type Cidr } from '../../../api/src/ipv4.ts';

export { matchesSelector as matches, type LabelSelector } from '../../../api/src/selectors.ts';
export { inCidr, isIPv4 } from '../../../api/src/ipv4.ts';

/** An IPv4 CIDR with its text as nft writes it (host bits cleared), or an error naming it. */
export function parseCidr(field: string, cidr: string): Cidr & { text: string } {
  const c = parse(cidr);
  if (!c)
    throw new Error(
      `${field}: ${JSON.stringify(cidr)} is not accepted: an IPv4 CIDR such as 10.0.0.0/8`,
    );
  return { ...c, text: cidrText(c) };
}
