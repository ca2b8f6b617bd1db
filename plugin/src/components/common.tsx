// Parts the resource pages share: the Ready column and the conditions section.
import { useTranslation } from '@kinvolk/headlamp-plugin/lib';
import { ConditionsTable, SectionBox } from '@kinvolk/headlamp-plugin/lib/CommonComponents';
import { ReadyLabel } from './Status';

type Conditioned = {
  jsonData: { status?: { conditions?: { type: string; status: string; reason?: string }[] } };
};
export const readyColumn = (label: string) => ({
  id: 'ready',
  label,
  getValue: (o: Conditioned) =>
    o.jsonData.status?.conditions?.find(c => c.type === 'Ready')?.status ?? '',
  render: (o: Conditioned) => <ReadyLabel conditions={o.jsonData.status?.conditions} />,
});

export function Conditions({ item }: { item: { jsonData: object } }) {
  const { t } = useTranslation();
  return (
    <SectionBox title={t('Conditions')}>
      <ConditionsTable resource={item.jsonData as never} showLastUpdate={false} />
    </SectionBox>
  );
}
