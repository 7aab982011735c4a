import { ApiError } from '@carshare/web-client';
import { useI18n } from '../i18n/i18n.tsx';

/** A failure in words, with the trace id to quote and, where it helps, a way to try again. */
export function ErrorNotice({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t, errorText } = useI18n();
  const traceId = error instanceof ApiError ? error.traceId : undefined;
  // A refused form says which values were wrong (VALIDATION_FAILED carries them per field).
  const problems = error instanceof ApiError && Array.isArray(error.details['problems']) ? (error.details['problems'] as Array<{ path?: unknown; message?: unknown }>) : [];
  return (
    <div className="notice notice-error" role="alert">
      <p>{errorText(error)}</p>
      {problems.length > 0 && (
        <ul>
          {problems.map((problem, index) => (
            <li key={index}>
              {typeof problem.path === 'string' ? problem.path : ''}: {typeof problem.message === 'string' ? problem.message : ''}
            </li>
          ))}
        </ul>
      )}
      {traceId && <p className="trace">{t('common.traceId', { traceId })}</p>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

/** Said politely to screen readers and shown until the next one. */
export function StatusMessage({ text }: { text: string | undefined }) {
  return (
    <p className="notice notice-ok" role="status" aria-live="polite">
      {text ?? ''}
    </p>
  );
}

/** A screen whose API is not deployed says so instead of drawing anything (never made-up data). */
export function ApiMissing({ api }: { api: string }) {
  const { t } = useI18n();
  return (
    <div className="notice notice-missing" role="note">
      <p>{t('common.apiMissing', { api })}</p>
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="loading" role="status" aria-live="polite">
      {t('common.loading')}
    </p>
  );
}

/** The end of a console form: why the last submit failed, then submit (off while it runs) and cancel. */
export function FormFooter({ error, busy, submitLabel, onCancel }: { error: unknown; busy: boolean; submitLabel: string; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <>
      {error !== undefined && <ErrorNotice error={error} />}
      <div className="buttons">
        <button type="submit" disabled={busy}>
          {submitLabel}
        </button>
        <button type="button" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </div>
    </>
  );
}
