import { profileRoutes, type LicenceFields, type RouteResponse } from '@carshare/contracts';
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../app/api.ts';
import { useLoad } from '../../app/use-api.ts';
import { useI18n } from '../../i18n/i18n.tsx';
import { ErrorNotice, Loading } from '../../ui/error-notice.tsx';
import { uploadWithProgress } from './upload.ts';

type Profile = RouteResponse<typeof profileRoutes.get>;
type PhotoPurpose = 'licence_front' | 'licence_back' | 'selfie';
const photoSlots: ReadonlyArray<{ purpose: PhotoPurpose; field: keyof Profile['photos'] }> = [
  { purpose: 'licence_front', field: 'licenceFront' },
  { purpose: 'licence_back', field: 'licenceBack' },
  { purpose: 'selfie', field: 'selfie' },
];
const acceptedTypes = ['image/jpeg', 'image/png', 'image/webp'] as const;
type AcceptedType = (typeof acceptedTypes)[number];

/** Licence verification: photos with upload progress, the form, status, rejection reason, (re)submit. */
export function LicenceScreen() {
  const { t, format } = useI18n();
  const [loaded, reload] = useLoad((signal) => api.call(profileRoutes.get, { signal }), 'profile');
  const [profile, setProfile] = useState<Profile>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (loaded.state === 'loaded') setProfile(loaded.value);
  }, [loaded]);

  if (loaded.state === 'loading' && !profile) return <Loading />;
  if (loaded.state === 'failed' && !profile) return <ErrorNotice error={loaded.error} onRetry={reload} />;
  if (!profile) return <Loading />;

  const editable = profile.status === 'unsubmitted' || profile.status === 'rejected';
  async function submit() {
    setBusy(true);
    setError(undefined);
    try {
      setProfile(await api.call(profileRoutes.submit, {}));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="licence-title" className="card">
      <h1 id="licence-title">{t.licence.title}</h1>
      <p className={`status status-${profile.status}`} data-testid="licence-status">
        {format(t.licence.status, { status: t.licence.statuses[profile.status] ?? profile.status })}
      </p>
      {profile.status === 'verified' ? <p role="status">{t.licence.verified}</p> : null}
      {profile.status === 'pending' ? <p role="status">{t.licence.pending}</p> : null}
      {profile.status === 'rejected' && profile.rejection ? (
        <div className="notice notice-error" role="alert">
          <p>{format(t.licence.rejected, { reason: t.licence.reasons[profile.rejection.reason] ?? profile.rejection.reason })}</p>
          {profile.rejection.text ? <p>{profile.rejection.text}</p> : null}
          {profile.rejection.fieldNotes.length > 0 ? (
            <ul>
              {profile.rejection.fieldNotes.map((note) => (
                <li key={note.field}>
                  {t.licence[note.field]}: {note.note}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {editable ? (
        <>
          <h2>{t.licence.photos}</h2>
          <div className="photos">
            {photoSlots.map((slot) => (
              <PhotoUpload key={slot.purpose} purpose={slot.purpose} uploaded={profile.photos[slot.field] !== null} onUploaded={reload} />
            ))}
          </div>
          <h2>{t.licence.fields}</h2>
          <LicenceForm initial={profile.fields} onSaved={setProfile} />
          {error ? <ErrorNotice error={error} /> : null}
          <button type="button" className="button" disabled={busy} onClick={() => void submit()}>
            {profile.status === 'rejected' ? t.licence.resubmit : t.licence.submit}
          </button>
        </>
      ) : null}
    </section>
  );
}

function PhotoUpload({ purpose, uploaded, onUploaded }: { purpose: PhotoPurpose; uploaded: boolean; onUploaded: () => void }) {
  const { t, format } = useI18n();
  const [progress, setProgress] = useState<number>();
  const [error, setError] = useState<unknown>();
  const label = purpose === 'licence_front' ? t.licence.front : purpose === 'licence_back' ? t.licence.back : t.licence.selfie;
  const inputId = `photo-${purpose}`;

  async function choose(file: File | undefined) {
    if (!file) return;
    setError(undefined);
    setProgress(0);
    try {
      const contentType = (acceptedTypes as readonly string[]).includes(file.type) ? (file.type as AcceptedType) : 'image/jpeg';
      const created = await api.call(profileRoutes.createPhotoUpload, { body: { purpose, contentType, sizeBytes: file.size } });
      await uploadWithProgress(created.upload, file, setProgress);
      onUploaded();
    } catch (failure) {
      setError(failure);
    } finally {
      setProgress(undefined);
    }
  }

  return (
    <div className="photo" data-testid={inputId}>
      <label htmlFor={inputId}>{label}</label>
      <input id={inputId} type="file" accept={acceptedTypes.join(',')} onChange={(event) => void choose(event.target.files?.[0])} />
      {progress !== undefined ? (
        <progress max={1} value={progress} aria-label={format(t.licence.uploading, { pct: Math.round(progress * 100) })}>
          {Math.round(progress * 100)}%
        </progress>
      ) : uploaded ? (
        <span className="ok">{t.licence.uploaded}</span>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
    </div>
  );
}

const emptyFields = { licenceNumber: '', surname: '', givenNames: '', birthDate: '', classes: '', issuedOn: '', expiresOn: '', issuingCountry: '' };

function LicenceForm({ initial, onSaved }: { initial: LicenceFields | null; onSaved: (profile: Profile) => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState(() => (initial ? { ...initial, classes: initial.classes.join(', ') } : emptyFields));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const set = (name: keyof typeof emptyFields) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });

  async function save(event: FormEvent) {
    event.preventDefault();
    setError(undefined);
    setSaved(false);
    try {
      const fields: LicenceFields = {
        ...values,
        licenceNumber: values.licenceNumber.replace(/\s+/g, '').toUpperCase(),
        issuingCountry: values.issuingCountry.trim().toUpperCase(),
        classes: values.classes
          .split(',')
          .map((item) => item.trim().toUpperCase())
          .filter(Boolean),
      };
      onSaved(await api.call(profileRoutes.put, { body: { fields } }));
      setSaved(true);
    } catch (failure) {
      setError(failure);
    }
  }

  const text = (name: keyof typeof emptyFields, type = 'text', autoComplete = 'off') => (
    <>
      <label htmlFor={`licence-${name}`}>{t.licence[name]}</label>
      <input id={`licence-${name}`} name={name} type={type} required autoComplete={autoComplete} value={values[name]} onChange={set(name)} />
    </>
  );
  return (
    <form onSubmit={(event) => void save(event)} className="licence-form">
      {text('licenceNumber')}
      {text('surname', 'text', 'family-name')}
      {text('givenNames', 'text', 'given-name')}
      {text('birthDate', 'date', 'bday')}
      {text('classes')}
      {text('issuedOn', 'date')}
      {text('expiresOn', 'date')}
      {text('issuingCountry', 'text', 'country')}
      {error ? <ErrorNotice error={error} /> : null}
      {saved ? <p role="status">{t.licence.saved}</p> : null}
      <button type="submit" className="button secondary">
        {t.licence.save}
      </button>
    </form>
  );
}
