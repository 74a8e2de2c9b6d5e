// Outgoing mail (password reset and email verification links) through nodemailer: to the SMTP server of SMTP_URL
// (`smtp://[user:pass@]host:port`, `smtps://` for implicit TLS), from MAIL_FROM. Without SMTP_URL (the embedded
// default) each mail is written as an .eml file to $DATA_DIR/outbox, and the log says where: a developer opens the
// link from there. The log never holds a mail's text, which carries a single-use link.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import nodemailer from 'nodemailer';

import type { Logger } from '../observability/logger.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Where mail goes, for the start-up log: an SMTP host or the outbox folder. */
  readonly destination: string;
  send(mail: Mail): Promise<void>;
  close(): void;
}

export interface MailConfig {
  smtpUrl: string | undefined;
  from: string;
  dataDir: string;
}

export function createMailer(config: MailConfig, logger: Logger): Mailer {
  if (config.smtpUrl) {
    const url = new URL(config.smtpUrl);
    const transport = nodemailer.createTransport(config.smtpUrl);
    return {
      destination: `${url.protocol}//${url.host}`,
      async send(mail) {
        const info = await transport.sendMail({ from: config.from, ...mail });
        logger.info({ mail: { to: mail.to, subject: mail.subject, messageId: info.messageId } }, 'mail sent');
      },
      close: () => transport.close(),
    };
  }
  const outbox = resolve(config.dataDir, 'outbox');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    destination: outbox,
    async send(mail) {
      const info = await transport.sendMail({ from: config.from, ...mail });
      await mkdir(outbox, { recursive: true, mode: 0o700 });
      const file = join(
        outbox,
        `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`,
      );
      await writeFile(file, info.message as Buffer, { mode: 0o600 });
      logger.info({ mail: { to: mail.to, subject: mail.subject, file } }, `mail written to ${file} (no SMTP_URL)`);
    },
    close: () => transport.close(),
  };
}
