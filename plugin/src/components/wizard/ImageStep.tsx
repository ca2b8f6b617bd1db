import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { Alert, FormControlLabel, Radio, RadioGroup, Stack, TextField } from '@mui/material';
import type { imageChoices } from '../../logic/wizard';
import type { StepProps } from './types';

type ImageChoice = ReturnType<typeof imageChoices>[number];

export function ImageStep({
  s,
  update,
  err,
  shownErrors,
  images,
}: StepProps & { images: ImageChoice[] }) {
  const { t } = useTranslation();
  return (
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
  );
}
