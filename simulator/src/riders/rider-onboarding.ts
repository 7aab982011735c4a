import { randomBytes, randomUUID } from 'node:crypto';
import { licencePhotoPng } from './licence-photo.ts';
import { ApiSession, PublicApiError, type PublicApi } from './public-api.ts';
import type { RiderIdentity } from './rider-roster.ts';

type ProfileStatus = 'unsubmitted' | 'pending' | 'verified' | 'rejected';

interface SignedUpload {
  upload: { url: string; method: string; headers: Record<string, string> };
}

/** The card token every simulated rider saves: the simulated processor's always-approving test card. */
export const simulatedCardToken = 'tok_visa';

/** A new rider's login: a unique address on a reserved domain (RFC 2606) and a random password. */
export function newRiderIdentity(index: number): RiderIdentity {
  const tag = randomUUID().slice(0, 8);
  return {
    email: `sim-rider-${tag}-${index}@riders.example.com`,
    // 24 random base64url characters: long, and never a common password or the address.
    password: randomBytes(18).toString('base64url'),
    displayName: `Simulated Rider ${index}`,
  };
}

/** Licence fields for a simulated rider: a valid adult's licence, unique per rider. */
function licenceFieldsFor(identity: RiderIdentity, now: number) {
  const year = new Date(now).getUTCFullYear();
  const digits = Array.from(identity.email).reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) >>> 0, 7);
  return {
    licenceNumber: `SIM${digits.toString(36).toUpperCase().padStart(8, '0')}`,
    surname: 'Rider',
    givenNames: identity.displayName,
    birthDate: '1990-04-12',
    classes: ['B'],
    issuedOn: `${year - 5}-03-01`,
    expiresOn: `${year + 8}-03-01`,
    issuingCountry: 'DE',
  };
}

/**
 * Brings a rider to where they can drive, through the public API only, each step skipped when it
 * is already done (a restarted simulator runs this again for every rider it knows):
 * sign up (202, a verification mail is sent), log in, have the address confirmed, enter the
 * licence, upload the three photos, submit, save a card. The mail goes to an inbox nobody reads
 * and unconfirmed accounts may not reserve (DOMAIN.md), so `backOffice`, an operator's session,
 * confirms the address through the admin API as support would; the OCR cannot read a simulated
 * licence either, so the back office approves the profile through the review API as the operator
 * dashboard does.
 */
export async function onboardRider(options: {
  api: PublicApi;
  identity: RiderIdentity;
  backOffice: ApiSession;
  now: () => number;
  /** The identity may have an account already (from riders.json): log in first, sign up only if refused. */
  known?: boolean;
}): Promise<ApiSession> {
  const { api, identity, backOffice } = options;
  const rider = new ApiSession(api, identity);
  if (!options.known) {
    // A new identity signs up first: logging in first would cost it a failed login, and the user
    // service throttles an address after a few of those.
    await api.call('POST', '/v1/auth/register', { body: identity });
  }
  try {
    await rider.userId();
  } catch (error) {
    if (!options.known || !(error instanceof PublicApiError) || error.status !== 401) throw error;
    // Known here but not there (the platform's data was reset): sign up again, then log in.
    await api.call('POST', '/v1/auth/register', { body: identity });
    await rider.userId();
  }
  // Confirming a confirmed address answers the account as it is: no need to look first.
  await backOffice.call('POST', `/v1/admin/users/${await rider.userId()}/confirm-email`, { idempotencyKey: randomUUID() });
  let profile = await rider.call<{ status: ProfileStatus }>('GET', '/v1/profile');
  if (profile.status === 'unsubmitted' || profile.status === 'rejected') {
    await rider.call('PUT', '/v1/profile', { body: { fields: licenceFieldsFor(identity, options.now()) } });
    const seed = Array.from(identity.email).reduce((sum, char) => sum + char.charCodeAt(0), 0);
    for (const [index, purpose] of (['licence_front', 'licence_back', 'selfie'] as const).entries()) {
      const photo = licencePhotoPng(seed + index);
      const { upload } = await rider.call<SignedUpload>('POST', '/v1/profile/photos', { body: { purpose, contentType: 'image/png', sizeBytes: photo.length } });
      await api.upload(upload, photo);
    }
    profile = await rider.call<{ status: ProfileStatus }>('POST', '/v1/profile/submit', { idempotencyKey: randomUUID() });
  }
  if (profile.status === 'pending') {
    const userId = await rider.userId();
    try {
      await backOffice.call('POST', `/v1/admin/reviews/${userId}/approve`, { body: { note: 'simulated rider: approved by the simulator back office' }, idempotencyKey: randomUUID() });
    } catch (error) {
      // The OCR may have verified it meanwhile: approving then is a state conflict, and that is fine.
      if (!(error instanceof PublicApiError) || error.status !== 409) throw error;
    }
  }
  const cards = await rider.call<{ items: unknown[] }>('GET', '/v1/payment-methods', { query: { limit: 1 } });
  if (cards.items.length === 0) await rider.call('POST', '/v1/payment-methods', { body: { cardToken: simulatedCardToken } });
  return rider;
}
