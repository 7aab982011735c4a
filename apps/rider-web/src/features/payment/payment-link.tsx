import { useI18n } from '../../i18n/i18n.tsx';
import { linkTo } from '../auth/auth-screens.tsx';
import { needsCard } from './payment-logic.ts';

/** Beside a refusal for lack of a usable card: the way to add one. Renders nothing for other errors. */
export function PaymentNeededLink({ error }: { error: unknown }) {
  const { t } = useI18n();
  if (!needsCard(error)) return null;
  return (
    <p>
      <a href="/payment" onClick={(event) => linkTo(event, '/payment')}>
        {t.payment.needed}
      </a>
    </p>
  );
}
