import { K8s, useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { SectionBox } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import {
  Alert,
  AlertTitle,
  Box,
  Button,
  Checkbox,
  CircularProgress,
  FormControlLabel,
  IconButton,
  MenuItem,
  Radio,
  RadioGroup,
  Stack,
  Step,
  StepLabel,
  Stepper,
  TextField,
  Typography,
} from '@mui/material';
import { useEffect, useMemo, useState } from 'react';
import { useHistory } from 'react-router-dom';
import type { VirtualMachine as VmJson } from '../../../api/generated/types.ts';
import { call, CallError } from '../api';
import { formatMemory } from '../logic/format';
import { denialReasons } from '../logic/policy';
import {
  buildVm,
  classesForNamespace,
  imageChoices,
  initialState,
  type Step as WizardStep,
  STEPS,
  validateStep,
  type WizardState,
} from '../logic/wizard';
import {
  ClusterVirtualMachineImage,
  ROUTES,
  VirtualMachineClass,
  VirtualMachineImage,
  vmPath,
} from '../resources';
import { InstallCheck } from './InstallCheck';
import { useRouteUrl } from './routes';
import { reservationOf } from '../../../api/src/wellknown.ts';

const STEP_LABELS: Record<WizardStep, string> = {
  namespace: 'Namespace and name',
  class: 'Class',
  image: 'Image',
  disks: 'Disks',
  cloudInit: 'cloud-init',
  review: 'Review',
};

interface DryRun {
  state: 'running' | 'allowed' | 'denied' | 'error';
  denials: string[];
  warnings: string[];
  result?: VmJson;
  message?: string;
}

export function CreateWizard() {
  return (
    <InstallCheck>
      <Wizard />
    </InstallCheck>
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
  const [dryRun, setDryRun] = useState<DryRun | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [submitError, setSubmitError] = useState<string[] | null>(null);
  const current = STEPS[step]!;

  const [namespaces] = K8s.ResourceClasses.Namespace.useList();
  const [classes] = VirtualMachineClass.useList();
  const [nsImages] = VirtualMachineImage.useList({ namespace: s.namespace || undefined });
  const [clusterImages] = ClusterVirtualMachineImage.useList();
  const [storageClasses] = K8s.ResourceClasses.StorageClass.useList();

  const ns = (namespaces ?? []).find((n: { getName(): string }) => n.getName() === s.namespace);
  // The namespace from the URL stays a choice while the list loads, and when the user may not
  // list namespaces at all (RBAC often allows a team its own namespace and no more).
  const namespaceChoices = useMemo(() => {
    const names = (namespaces ?? []).map((n: { getName(): string }) => n.getName());
    return s.namespace && !names.includes(s.namespace) ? [s.namespace, ...names] : names;
  }, [namespaces, s.namespace]);
  const availableClasses = useMemo(
    () =>
      classesForNamespace(
        (classes ?? []).map((c: VirtualMachineClass) => c.jsonData as never),
        ns?.metadata.labels
      ),
    [classes, ns]
  );
  const images = useMemo(
    () =>
      imageChoices(
        (nsImages ?? [])
          .filter((i: VirtualMachineImage) => i.getNamespace() === s.namespace)
          .map((i: VirtualMachineImage) => i.jsonData as never),
        (clusterImages ?? []).map((i: ClusterVirtualMachineImage) => i.jsonData as never)
      ),
    [nsImages, clusterImages, s.namespace]
  );

  const update = (patch: Partial<WizardState>) => {
    setS(old => ({ ...old, ...patch }));
    setDryRun(null);
    setSubmitError(null);
  };

  // The review step asks the API server (and so vmplane's webhooks) what would happen.
  useEffect(() => {
    if (current !== 'review') return;
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
  }, [current, s]);

  function next() {
    const errors = validateStep(current, s);
    setShownErrors(errors);
    if (Object.keys(errors).length === 0) setStep(step + 1);
  }

  async function submit() {
    setSubmitting(true);
    setSubmitError(null);
    try {
      await call(vmPath(s.namespace), {
        method: 'POST',
        body: buildVm(s),
        query: { fieldValidation: 'Strict' },
      });
      history.push(url(ROUTES.vm, { namespace: s.namespace, name: s.name }));
    } catch (e) {
      setSubmitError(denialReasons((e as Error).message));
      setSubmitting(false);
    }
  }

  const err = (field: string) =>
    shownErrors[field] ? { error: true, helperText: shownErrors[field] } : {};

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
        {current === 'namespace' && (
          <Stack spacing={2}>
            <TextField
              select
              label={t('Namespace')}
              value={s.namespace}
              onChange={e => update({ namespace: e.target.value, className: '', image: null })}
              {...err('namespace')}
              inputProps={{ 'data-testid': 'namespace' }}
            >
              {namespaceChoices.map(n => (
                <MenuItem key={n} value={n}>
                  {n}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              label={t('Name')}
              value={s.name}
              onChange={e => update({ name: e.target.value.trim() })}
              {...err('name')}
            />
          </Stack>
        )}

        {current === 'class' && (
          <Box>
            {availableClasses.length === 0 ? (
              <Alert severity="warning">
                {t(
                  'No class is available in namespace {{namespace}}. Ask your platform team to create one or to open one to this namespace.',
                  { namespace: s.namespace }
                )}
              </Alert>
            ) : (
              <RadioGroup
                value={s.className}
                onChange={e => update({ className: e.target.value })}
                aria-label={t('Class')}
              >
                {availableClasses.map(c => (
                  <FormControlLabel
                    key={c.metadata.name}
                    value={c.metadata.name}
                    control={<Radio />}
                    label={`${c.metadata.name} — ${c.spec.hardware.cpus} vCPU, ${formatMemory(
                      c.spec.hardware.memory
                    )}, ${reservationOf(c)}${
                      c.spec.description ? ` — ${c.spec.description}` : ''
                    }`}
                  />
                ))}
              </RadioGroup>
            )}
            {shownErrors.className && <Alert severity="error">{shownErrors.className}</Alert>}
          </Box>
        )}

        {current === 'image' && (
          <Stack spacing={2}>
            {images.length === 0 && (
              <Alert severity="warning">
                {t('No image is available to namespace {{namespace}}.', { namespace: s.namespace })}
              </Alert>
            )}
            <RadioGroup
              value={s.image ? `${s.image.kind}/${s.image.name}` : ''}
              onChange={e => {
                const choice = images.find(i => `${i.kind}/${i.name}` === e.target.value);
                if (choice) update({ image: { kind: choice.kind, name: choice.name } });
              }}
              aria-label={t('Image')}
            >
              {images.map(i => (
                <FormControlLabel
                  key={`${i.kind}/${i.name}`}
                  value={`${i.kind}/${i.name}`}
                  control={<Radio />}
                  label={`${i.label} — ${i.os}, ${i.size}${i.ready ? '' : ` (${t('not ready')})`}`}
                />
              ))}
            </RadioGroup>
            {shownErrors.image && <Alert severity="error">{shownErrors.image}</Alert>}
            <TextField
              label={t('Boot disk size (optional, defaults to the image size)')}
              value={s.bootDiskSize}
              onChange={e => update({ bootDiskSize: e.target.value.trim() })}
              {...err('bootDiskSize')}
            />
          </Stack>
        )}

        {current === 'disks' && (
          <Stack spacing={2}>
            <Typography>
              {t(
                'Data disks are created with the VM and deleted with it. Leave the storage class empty to use the default.'
              )}
            </Typography>
            {s.disks.map((d, i) => (
              <Stack direction="row" spacing={1} key={i} alignItems="flex-start">
                <TextField
                  label={t('Disk name')}
                  value={d.name}
                  onChange={e =>
                    update({
                      disks: s.disks.map((x, j) =>
                        j === i ? { ...x, name: e.target.value.trim() } : x
                      ),
                    })
                  }
                  {...err(`disks.${i}.name`)}
                />
                <TextField
                  label={t('Size')}
                  value={d.size}
                  onChange={e =>
                    update({
                      disks: s.disks.map((x, j) =>
                        j === i ? { ...x, size: e.target.value.trim() } : x
                      ),
                    })
                  }
                  {...err(`disks.${i}.size`)}
                />
                <TextField
                  select
                  label={t('Storage class')}
                  value={d.storageClassName}
                  sx={{ minWidth: 200 }}
                  onChange={e =>
                    update({
                      disks: s.disks.map((x, j) =>
                        j === i ? { ...x, storageClassName: e.target.value } : x
                      ),
                    })
                  }
                >
                  <MenuItem value="">{t('(default)')}</MenuItem>
                  {(storageClasses ?? []).map((sc: { getName(): string }) => (
                    <MenuItem key={sc.getName()} value={sc.getName()}>
                      {sc.getName()}
                    </MenuItem>
                  ))}
                </TextField>
                <IconButton
                  aria-label={t('Remove disk {{name}}', { name: d.name })}
                  onClick={() => update({ disks: s.disks.filter((_, j) => j !== i) })}
                >
                  ✕
                </IconButton>
              </Stack>
            ))}
            <Box>
              <Button
                variant="outlined"
                onClick={() =>
                  update({
                    disks: [
                      ...s.disks,
                      { name: `data${s.disks.length || ''}`, size: '10Gi', storageClassName: '' },
                    ],
                  })
                }
              >
                {t('Add disk')}
              </Button>
            </Box>
          </Stack>
        )}

        {current === 'cloudInit' && (
          <TextField
            label={t('cloud-init user data (optional)')}
            multiline
            minRows={8}
            fullWidth
            value={s.cloudInit}
            placeholder={
              '#cloud-config\nusers:\n  - name: admin\n    ssh_authorized_keys: [ssh-ed25519 AAAA...]'
            }
            onChange={e => update({ cloudInit: e.target.value })}
            {...err('cloudInit')}
            inputProps={{ style: { fontFamily: 'monospace' } }}
          />
        )}

        {current === 'review' && (
          <Stack spacing={2}>
            <Box
              component="dl"
              sx={{
                display: 'grid',
                gridTemplateColumns: 'max-content 1fr',
                columnGap: 2,
                rowGap: 0.5,
                m: 0,
              }}
            >
              {[
                [t('Name'), `${s.namespace}/${s.name}`],
                [t('Class'), s.className],
                [
                  t('Image'),
                  s.image
                    ? `${s.image.name}${
                        s.image.kind === 'ClusterVirtualMachineImage'
                          ? ` (${t('cluster library')})`
                          : ''
                      }`
                    : '-',
                ],
                [t('Boot disk'), s.bootDiskSize || t('image size')],
                [
                  t('Data disks'),
                  s.disks
                    .map(
                      d =>
                        `${d.name} ${d.size}${
                          d.storageClassName ? ` on ${d.storageClassName}` : ''
                        }`
                    )
                    .join(', ') || '-',
                ],
                [
                  t('cloud-init'),
                  s.cloudInit.trim()
                    ? t('{{n}} lines', { n: s.cloudInit.trim().split('\n').length })
                    : '-',
                ],
              ].map(([k, v]) => (
                <Box key={k} sx={{ display: 'contents' }}>
                  <Typography component="dt" fontWeight="bold">
                    {k}
                  </Typography>
                  <Typography component="dd" sx={{ m: 0 }}>
                    {v}
                  </Typography>
                </Box>
              ))}
              <FormControlLabel
                control={
                  <Checkbox
                    checked={s.startAfterCreate}
                    onChange={e => update({ startAfterCreate: e.target.checked })}
                  />
                }
                label={t('Start the VM after creating it')}
              />
            </Box>
            <PolicyPreview dryRun={dryRun} />
            {submitError && (
              <Alert severity="error" role="alert" data-testid="submit-error">
                <AlertTitle>{t('The VM was not created')}</AlertTitle>
                {submitError.map(m => (
                  <div key={m}>{m}</div>
                ))}
              </Alert>
            )}
          </Stack>
        )}
      </Box>

      <Stack direction="row" spacing={1} sx={{ mt: 3 }}>
        <Button disabled={step === 0 || submitting} onClick={() => setStep(step - 1)}>
          {t('Back')}
        </Button>
        {current !== 'review' ? (
          <Button variant="contained" onClick={next}>
            {t('Next')}
          </Button>
        ) : (
          <Button
            variant="contained"
            disabled={dryRun?.state !== 'allowed' || submitting}
            onClick={submit}
          >
            {submitting ? t('Creating…') : t('Create')}
          </Button>
        )}
      </Stack>
    </SectionBox>
  );
}

function PolicyPreview({ dryRun }: { dryRun: DryRun | null }) {
  const { t } = useTranslation();
  if (!dryRun || dryRun.state === 'running') {
    return (
      <Stack direction="row" spacing={1} alignItems="center">
        <CircularProgress size={18} />
        <Typography>
          {t('Checking classes, storage and policies with a server-side dry run…')}
        </Typography>
      </Stack>
    );
  }
  return (
    <Box data-testid="policy-preview">
      {dryRun.state === 'allowed' && (
        <Alert severity="success">
          <AlertTitle>{t('The API server would accept this VM')}</AlertTitle>
          {dryRun.result?.spec.className && t('Class {{c}}', { c: dryRun.result.spec.className })}
          {dryRun.result?.spec.bootDisk?.storageClassName &&
            ` · ${t('boot disk on {{sc}}', { sc: dryRun.result.spec.bootDisk.storageClassName })}`}
        </Alert>
      )}
      {dryRun.state === 'denied' && (
        <Alert severity="error" role="alert" data-testid="denials">
          <AlertTitle>{t('Denied — change your choices and try again')}</AlertTitle>
          <ul style={{ margin: 0, paddingLeft: 20 }}>
            {dryRun.denials.map(d => (
              <li key={d}>{d}</li>
            ))}
          </ul>
        </Alert>
      )}
      {dryRun.state === 'error' && (
        <Alert severity="error" role="alert">
          {t('The dry run failed: {{m}}', { m: dryRun.message ?? '' })}
        </Alert>
      )}
      {dryRun.warnings.length > 0 && (
        <Alert severity="warning" sx={{ mt: 1 }} data-testid="warnings">
          <AlertTitle>{t('Warnings')}</AlertTitle>
          <ul style={{ margin: 0, paddingLeft: 20 }}>
            {dryRun.warnings.map(w => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </Alert>
      )}
    </Box>
  );
}
