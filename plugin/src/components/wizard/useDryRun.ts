import { useEffect, useState } from 'react';
import type { VirtualMachine as VmJson } from '../../../../api/generated/types.ts';
import { call, CallError } from '../../cluster-calls';
import { denialReasons } from '../../logic/policy';
import { buildVm, type WizardState } from '../../logic/wizard';
import { vmPath } from '../../resources';

export interface DryRun {
  state: 'running' | 'allowed' | 'denied' | 'error';
  denials: string[];
  warnings: string[];
  result?: VmJson;
  message?: string;
}

/**
 * On the review step, asks the API server (and so vmplane's webhooks and policies) what creating
 * the VM would do: a server-side dry run with strict field validation. Null until it runs.
 */
export function useDryRun(
  active: boolean,
  s: WizardState
): [DryRun | null, (d: DryRun | null) => void] {
  const [dryRun, setDryRun] = useState<DryRun | null>(null);
  useEffect(() => {
    if (!active) return;
    let live = true;
    setDryRun({ state: 'running', denials: [], warnings: [] });
    call<VmJson>(vmPath(s.namespace), {
      method: 'POST',
      body: buildVm(s),
      query: { dryRun: 'All', fieldValidation: 'Strict' },
    }).then(
      r =>
        live && setDryRun({ state: 'allowed', denials: [], warnings: r.warnings, result: r.body }),
      (e: CallError) =>
        live &&
        setDryRun({
          state: e.status === 0 ? 'error' : 'denied',
          denials: denialReasons(e.message),
          warnings: [],
          message: e.message,
        })
    );
    return () => {
      live = false;
    };
  }, [active, s]);
  return [dryRun, setDryRun];
}
