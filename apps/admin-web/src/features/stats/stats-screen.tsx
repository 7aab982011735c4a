import { useI18n } from '../../i18n/i18n.tsx';
import { ApiMissing } from '../../ui/error-notice.tsx';

/**
 * Business figures. The analytics API (`GET /v1/admin/stats`, issue 16) has no route in
 * contracts/src/http yet, so this screen says so instead of drawing anything: a chart of
 * made-up numbers is worse than none.
 */
export function StatsScreen() {
  const { t } = useI18n();
  return (
    <section aria-labelledby="stats-heading">
      <h1 id="stats-heading">{t('stats.heading')}</h1>
      <ApiMissing api={t('stats.api')} />
    </section>
  );
}
