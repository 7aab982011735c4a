import { userRpc } from '@carshare/contracts';
import { roles, type Role } from '@carshare/platform';
import { CommandUsageError, defineService, requireBus, requireDatabase } from '@carshare/service-kit';
import { userConfigShape } from './config.ts';
import { demoAccounts, seedDemoData } from './demo-data.ts';
import { createUserModule, userMigrationsDir, type UserModule } from './module.ts';

function text(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Accounts, credentials, sessions and signing keys. */
export const userDescriptor = defineService({
  name: 'user',
  ...userConfigShape,
  migrationsDir: userMigrationsDir,
  messaging: true,
  rpc: userRpc,
  calls: [],
  createModule: (deps) => createUserModule({ ...deps, database: requireDatabase(deps, 'user'), bus: requireBus(deps, 'user') }),
  async seedDemo(module: UserModule) {
    const created = await seedDemoData(module.users);
    return {
      created,
      logins: Object.values(demoAccounts).map((account) => `${account.role.padEnd(8)} ${account.email} / ${account.password}`),
    };
  },
  commands: [
    {
      words: ['admin', 'create'],
      summary: 'create an operator or admin account',
      usage: '--email E --password P [--name N] [--role operator|admin]',
      options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', default: 'operator' } },
      async run(module, values, say) {
        const email = text(values['email']);
        const password = text(values['password']);
        const role = text(values['role']) as Role;
        if (!email || !password) throw new CommandUsageError('admin create needs --email and --password');
        if (role === 'rider' || !roles.includes(role)) throw new CommandUsageError('--role is operator or admin');
        const displayName = text(values['name']) ?? email;
        try {
          // Staff passwords follow the riders' rules (ADR 0017); demo seeds are the only exception.
          module.users.checkPassword(password, { email: email.trim().toLowerCase(), displayName });
        } catch (error) {
          throw new CommandUsageError(`--password: ${error instanceof Error ? error.message : String(error)}`);
        }
        const user = await module.users.createAccount({ email, password, displayName, role, plan: 'unlimited' });
        say(`created ${user.role} ${user.email} (${user.id})`);
      },
    },
    {
      words: ['mail', 'list'],
      summary: 'the mail the user service sent or holds (embedded: its only outbox), newest first',
      usage: '[--to ADDRESS] [--limit N]',
      options: { to: { type: 'string' }, limit: { type: 'string', default: '20' } },
      async run(module, values, say) {
        const limit = Number(text(values['limit']) ?? '20');
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new CommandUsageError('--limit is a whole number from 1 to 500');
        const to = text(values['to']);
        const mails = await module.mailOutbox.list({ limit, ...(to !== undefined && { recipient: to }) });
        if (mails.length === 0) say('no mail');
        for (const mail of mails) {
          const state = mail.sentAt !== undefined ? `sent ${new Date(mail.sentAt).toISOString()}` : module.mailRelay ? `pending (${mail.attempts} attempts${mail.lastError ? `: ${mail.lastError}` : ''})` : 'kept in the local outbox';
          say(`--- ${new Date(mail.createdAt).toISOString()} to ${mail.to} · ${state}\nSubject: ${mail.subject}\n\n${mail.text}\n`);
        }
      },
    },
    {
      words: ['keys', 'rotate'],
      summary: 'new signing key for access tokens; old tokens stay valid until they expire',
      async run(module, _values, say) {
        const kid = await module.signer.rotate();
        say(`new signing key ${kid}; running user services pick it up within their reload interval`);
      },
    },
  ],
});
