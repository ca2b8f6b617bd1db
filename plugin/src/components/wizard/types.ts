import type { WizardState } from '../../logic/wizard';

/** What every step of the create wizard gets: the state, a way to change it, and field errors. */
export interface StepProps {
  s: WizardState;
  update: (patch: Partial<WizardState>) => void;
  /** The error props of a field (error and helper text) once Next was pressed. */
  err: (field: string) => { error?: boolean; helperText?: string };
  shownErrors: Record<string, string>;
}
