import { isAppError } from '@carshare/platform';
import type { UserService } from './user-service.ts';

/**
 * Demo accounts for the embedded platform on a laptop. They are created only by `carshare up`
 * and `carshare seed`, never by `carshare service`, so no deployed system has them.
 */
export const demoAccounts = {
  operator: { email: 'operator@carshare.local', password: 'operator-demo-pass', displayName: 'Demo Operator', role: 'operator', plan: 'unlimited' },
  rider: { email: 'rider@carshare.local', password: 'rider-demo-pass', displayName: 'Demo Rider', role: 'rider', plan: 'free' },
} as const;

/** Idempotent: an account that exists is left as it is. Returns the emails it created. */
export async function seedDemoData(users: UserService): Promise<string[]> {
  const created: string[] = [];
  for (const account of Object.values(demoAccounts)) {
    try {
      await users.createAccount(account);
      created.push(account.email);
    } catch (error) {
      if (!(isAppError(error) && error.reason === 'EMAIL_TAKEN')) throw error;
    }
  }
  return created;
}
