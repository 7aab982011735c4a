import type { Logger } from '@carshare/observability';
import type { Clock } from '@carshare/platform';
import { createTransport, type Transporter } from 'nodemailer';
import type { SqlMailOutbox } from './sql-mail-outbox.ts';

export interface SmtpMailRelayOptions {
  smtpUrl: string;
  from: string;
  intervalMs: number;
  logger: Logger;
}

/** A mail that failed this often stays in the outbox, marked with its last error, for an operator to see. */
const maxAttempts = 10;
const batchSize = 20;

/**
 * Sends what the mail outbox holds over SMTP (nodemailer) and stamps each mail sent. Mail is
 * written in the transaction of the change that calls for it and sent after the commit, so a
 * rolled-back sign-up mails nothing and a crash between commit and send only delays the mail.
 * At least once: a crash after the server accepted a mail and before the stamp sends it again.
 */
export class SmtpMailRelay {
  readonly #outbox: SqlMailOutbox;
  readonly #clock: Clock;
  readonly #options: SmtpMailRelayOptions;
  readonly #transport: Transporter;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(outbox: SqlMailOutbox, clock: Clock, options: SmtpMailRelayOptions) {
    this.#outbox = outbox;
    this.#clock = clock;
    this.#options = options;
    this.#transport = createTransport(options.smtpUrl);
  }

  /** Sends every pending mail once; the number sent. One pass at a time. */
  deliverPending(): Promise<number> {
    this.#running ??= this.#deliver().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  start(): void {
    this.#timer = setInterval(() => {
      void this.deliverPending().catch((error: unknown) => this.#options.logger.error({ err: error }, 'mail relay pass failed'));
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
    this.#transport.close();
  }

  async #deliver(): Promise<number> {
    let sent = 0;
    const pending = await this.#outbox.list({ limit: batchSize, pendingOnly: true });
    for (const mail of pending) {
      if (mail.attempts >= maxAttempts) continue;
      try {
        await this.#transport.sendMail({ from: this.#options.from, to: mail.to, subject: mail.subject, text: mail.text });
        await this.#outbox.markSent(mail.id, this.#clock.now());
        sent += 1;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        await this.#outbox.markFailed(mail.id, message);
        this.#options.logger.warn({ mailId: mail.id, attempts: mail.attempts + 1, err: error }, 'mail not sent; the relay tries again');
      }
    }
    return sent;
  }
}
