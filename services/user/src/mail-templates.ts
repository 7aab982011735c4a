import type { User } from './domain/user.ts';
import type { Mail } from './ports.ts';

// Plain text only: nothing in these mails needs HTML, and plain text cannot hide a link's target.

export function verificationMail(user: User, link: string, token: string): Mail {
  return {
    to: user.email,
    subject: 'Confirm your carshare address',
    text: [
      `Hello ${user.displayName},`,
      '',
      'Confirm that this address is yours to start reserving cars:',
      link,
      '',
      `(or send this code to POST /v1/auth/verify-email: ${token})`,
      '',
      'If you did not sign up, ignore this mail: nothing happens without the link.',
    ].join('\n'),
  };
}

export function alreadyRegisteredMail(user: User, resetPage: string): Mail {
  return {
    to: user.email,
    subject: 'Someone tried to sign up with your carshare address',
    text: [
      `Hello ${user.displayName},`,
      '',
      'Somebody tried to create a carshare account with this address, which already has one.',
      'If it was you: log in instead, or set a new password from the reset page:',
      resetPage,
      '',
      'If it was not you, nothing changed and there is nothing to do.',
    ].join('\n'),
  };
}

export function passwordResetMail(user: User, link: string, token: string): Mail {
  return {
    to: user.email,
    subject: 'Set a new carshare password',
    text: [
      `Hello ${user.displayName},`,
      '',
      'Follow this link to set a new password (it works once, for a short while):',
      link,
      '',
      `(or send this code with the new password to POST /v1/auth/password-reset/confirm: ${token})`,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  };
}
