import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { Alert, Box, FormControlLabel, Radio, RadioGroup } from '@mui/material';
import type { VirtualMachineClass } from '../../../../api/generated/types.ts';
import { reservationOf } from '../../../../api/src/wellknown.ts';
import { formatMemory } from '../../logic/format';
import type { StepProps } from './types';

type ClassChoice = Pick<VirtualMachineClass, 'metadata' | 'spec'>;

/** A class as the wizard lists it: "name — 2 vCPU, 4 GiB, BestEffort — description". */
export function classLabel(c: ClassChoice): string {
  const hw = c.spec.hardware;
  const description = c.spec.description ? ` — ${c.spec.description}` : '';
  return `${c.metadata.name} — ${hw.cpus} vCPU, ${formatMemory(hw.memory)}, ${reservationOf(
    c
  )}${description}`;
}

export function ClassStep({
  s,
  update,
  shownErrors,
  classes,
}: StepProps & { classes: ClassChoice[] }) {
  const { t } = useTranslation();
  return (
    <Box>
      {classes.length === 0 ? (
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
          {classes.map(c => (
            <FormControlLabel
              key={c.metadata.name}
              value={c.metadata.name}
              control={<Radio />}
              label={classLabel(c)}
            />
          ))}
        </RadioGroup>
      )}
      {shownErrors.className && <Alert severity="error">{shownErrors.className}</Alert>}
    </Box>
  );
}
