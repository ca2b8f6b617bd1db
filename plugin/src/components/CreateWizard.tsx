// The create wizard: one component per step (wizard/), the dry-run preview as a hook, and this
// container holding the state, the stepper and the navigation.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { SectionBox } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { Box, Button, Stack, Step, StepLabel, Stepper } from '@mui/material';
import { useState } from 'react';
import { useHistory } from 'react-router-dom';
import { call } from '../cluster-calls';
import { denialReasons } from '../logic/policy';
import {
  buildVm,
  initialState,
  type Step as WizardStep,
  STEPS,
  validateStep,
  type WizardState,
} from '../logic/wizard';
import { ROUTES, vmPath } from '../resources';
import { InstallCheck } from './InstallCheck';
import { useRouteUrl } from './routes';
import { ClassStep } from './wizard/ClassStep';
import { CloudInitStep } from './wizard/CloudInitStep';
import { DisksStep } from './wizard/DisksStep';
import { ImageStep } from './wizard/ImageStep';
import { NamespaceStep } from './wizard/NamespaceStep';
import { ReviewStep } from './wizard/ReviewStep';
import type { StepProps } from './wizard/types';
import { type DryRun, useDryRun } from './wizard/useDryRun';
import { useWizardChoices } from './wizard/useWizardChoices';

const STEP_LABELS: Record<WizardStep, string> = {
  namespace: 'Namespace, name and network',
  class: 'Class',
  image: 'Image',
  disks: 'Disks',
  cloudInit: 'cloud-init',
  review: 'Review',
};

export function CreateWizard() {
  return (
    <InstallCheck>
      <Wizard />
    </InstallCheck>
  );
}

/** Creates the VM; resolves the reasons it was refused, or null once it exists. */
async function create(s: WizardState): Promise<string[] | null> {
  try {
    await call(vmPath(s.namespace), {
      method: 'POST',
      body: buildVm(s),
      query: { fieldValidation: 'Strict' },
    });
    return null;
  } catch (e) {
    return denialReasons((e as Error).message);
  }
}

/** The form of the current step. */
function CurrentStep({
  step,
  props,
  choices,
  dryRun,
  submitError,
}: {
  step: WizardStep;
  props: StepProps;
  choices: ReturnType<typeof useWizardChoices>;
  dryRun: DryRun | null;
  submitError: string[] | null;
}) {
  switch (step) {
    case 'namespace':
      return (
        <NamespaceStep
          {...props}
          namespaces={choices.namespaceChoices}
          networks={choices.availableNetworks}
        />
      );
    case 'class':
      return <ClassStep {...props} classes={choices.availableClasses} />;
    case 'image':
      return <ImageStep {...props} images={choices.images} />;
    case 'disks':
      return <DisksStep {...props} storageClasses={choices.storageClassNames} />;
    case 'cloudInit':
      return <CloudInitStep {...props} />;
    case 'review':
      return <ReviewStep {...props} dryRun={dryRun} submitError={submitError} />;
  }
}

/** Back, and Next until the review, where Create waits for the dry run to accept the VM. */
function WizardNav(p: {
  step: number;
  review: boolean;
  canCreate: boolean;
  submitting: boolean;
  onBack: () => void;
  onNext: () => void;
  onCreate: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Stack direction="row" spacing={1} sx={{ mt: 3 }}>
      <Button disabled={p.step === 0 || p.submitting} onClick={p.onBack}>
        {t('Back')}
      </Button>
      {!p.review ? (
        <Button variant="contained" onClick={p.onNext}>
          {t('Next')}
        </Button>
      ) : (
        <Button variant="contained" disabled={!p.canCreate || p.submitting} onClick={p.onCreate}>
          {p.submitting ? t('Creating…') : t('Create')}
        </Button>
      )}
    </Stack>
  );
}

function Wizard() {
  const { t } = useTranslation();
  const history = useHistory();
  const url = useRouteUrl();
  const [step, setStep] = useState(0);
  const [s, setS] = useState<WizardState>(() =>
    initialState(new URLSearchParams(window.location.search).get('namespace') ?? '')
  );
  const [shownErrors, setShownErrors] = useState<Record<string, string>>({});
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<string[] | null>(null);
  const current = STEPS[step]!;
  const choices = useWizardChoices(s);
  const [dryRun, setDryRun] = useDryRun(current === 'review', s);

  const update = (patch: Partial<WizardState>) => {
    setS(old => ({ ...old, ...patch }));
    setDryRun(null);
    setSubmitError(null);
  };
  const next = () => {
    const errors = validateStep(current, s);
    setShownErrors(errors);
    if (Object.keys(errors).length === 0) setStep(step + 1);
  };
  const submit = async () => {
    setSubmitting(true);
    setSubmitError(null);
    const refused = await create(s);
    if (!refused) {
      history.push(url(ROUTES.vm, { namespace: s.namespace, name: s.name }));
      return;
    }
    setSubmitError(refused);
    setSubmitting(false);
  };
  const props: StepProps = {
    s,
    update,
    shownErrors,
    err: field => (shownErrors[field] ? { error: true, helperText: shownErrors[field] } : {}),
  };

  return (
    <SectionBox title={t('Create a virtual machine')}>
      <Stepper activeStep={step} sx={{ mb: 3 }} alternativeLabel>
        {STEPS.map(k => (
          <Step key={k}>
            <StepLabel>{t(STEP_LABELS[k])}</StepLabel>
          </Step>
        ))}
      </Stepper>
      <Box sx={{ maxWidth: 900 }} data-testid={`wizard-step-${current}`}>
        <CurrentStep
          step={current}
          props={props}
          choices={choices}
          dryRun={dryRun}
          submitError={submitError}
        />
      </Box>
      <WizardNav
        step={step}
        review={current === 'review'}
        canCreate={dryRun?.state === 'allowed'}
        submitting={submitting}
        onBack={() => setStep(step - 1)}
        onNext={next}
        onCreate={submit}
      />
    </SectionBox>
  );
}
