import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { Box, Button, IconButton, MenuItem, Stack, TextField, Typography } from '@mui/material';
import type { WizardState } from '../../logic/wizard';
import type { StepProps } from './types';

type DataDisk = WizardState['disks'][number];

export function DisksStep({
  s,
  update,
  err,
  storageClasses,
}: StepProps & { storageClasses: string[] }) {
  const { t } = useTranslation();
  const change = (i: number, patch: Partial<DataDisk>) =>
    update({ disks: s.disks.map((x, j) => (j === i ? { ...x, ...patch } : x)) });
  const add = () =>
    update({
      disks: [
        ...s.disks,
        { name: `data${s.disks.length || ''}`, size: '10Gi', storageClassName: '' },
      ],
    });
  return (
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
            onChange={e => change(i, { name: e.target.value.trim() })}
            {...err(`disks.${i}.name`)}
          />
          <TextField
            label={t('Size')}
            value={d.size}
            onChange={e => change(i, { size: e.target.value.trim() })}
            {...err(`disks.${i}.size`)}
          />
          <TextField
            select
            label={t('Storage class')}
            value={d.storageClassName}
            sx={{ minWidth: 200 }}
            onChange={e => change(i, { storageClassName: e.target.value })}
          >
            <MenuItem value="">{t('(default)')}</MenuItem>
            {storageClasses.map(name => (
              <MenuItem key={name} value={name}>
                {name}
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
        <Button variant="outlined" onClick={add}>
          {t('Add disk')}
        </Button>
      </Box>
    </Stack>
  );
}
