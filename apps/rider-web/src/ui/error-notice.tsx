import { isApiError } from '@carshare/web-client';
import { useI18n } from '../i18n/i18n.tsx';

/** A failure as the rider reads it, with the trace id to quote and an optional retry. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t, format, errorText } = useI18n();
  const traceId = isApiError(error) ? error.traceId : undefined;
  return (
    <div className="notice notice-error" role="alert">
      <p>{errorText(error)}</p>
      {traceId ? <p className="small">{format(t.common.traceId, { traceId })}</p> : null}
      {onRetry ? (
        <button type="button" className="button secondary" onClick={onRetry}>
          {t.common.retry}
        </button>
      ) : null}
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <p className="loading" role="status" aria-live="polite">
      {label ?? t.common.loading}
    </p>
  );
}

/** A screen or part whose API does not exist yet says so instead of showing anything made up. */
export function NotOffered({ text }: { text: string }) {
  return (
    <p className="notice notice-info" role="note">
      {text}
    </p>
  );
}
