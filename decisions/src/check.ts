// The outcome of one check on a VM (its class, image, disks, engine, power, acceptance): passed or
// not, with the condition reason and message that say why. The controllers turn checks into
// conditions; the decisions that judge produce them.
export interface Check {
  ok: boolean;
  reason: string;
  message: string;
}

/** A check that passed, with the condition reason and message that say so. */
export const ok = (reason: string, message: string): Check => ({ ok: true, reason, message });

/** A check that failed, with the condition reason and message that say why. */
export const fail = (reason: string, message: string): Check => ({ ok: false, reason, message });
