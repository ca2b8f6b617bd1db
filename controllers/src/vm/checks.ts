// The two ways a check of the VM reconcile ends (class, image, disks, power, acceptance): passed
// or failed, each with the condition reason and message that say why.
import type { Check } from '../../../decisions/src/check.ts';

export const ok = (reason: string, message: string): Check => ({ ok: true, reason, message });
export const fail = (reason: string, message: string): Check => ({ ok: false, reason, message });
