import type { AccountPort, OnBehalf } from '../ports.ts';

/**
 * The user service's answer to "did this rider confirm their address": yes, except for the
 * riders in `unconfirmed` (most tests are about something else). Counts the questions asked.
 */
export class FakeAccounts implements AccountPort {
  readonly unconfirmed = new Set<string>();
  asked = 0;
  /** Makes the next question fail (the user service is down). */
  failNext: Error | undefined;

  async isEmailVerified(on: OnBehalf): Promise<boolean> {
    this.asked += 1;
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    return !this.unconfirmed.has(on.riderId);
  }
}
