// The password reset request is rate limited (README "Password reset and email verification"), with the limits on
// as in production (tests otherwise run with RATE_LIMIT_ENABLED=false): past 3 requests for one email address in 15
// minutes the answer is the same page and no more mail goes out; past 10 requests from one client address the answer
// is 429, the same page whether or not an account has the address, and nothing is mailed. Each test comes from its own
// address (TRUST_PROXY=true: the proxy's X-Forwarded-For decides). A real SMTP server receives the mails. Both modes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser } from '../support/browser.js';
import { startSmtp, type TestSmtp } from '../support/mail.js';
import { createUser, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const csrfOf = (page: string) => /name="csrf_token" value="([^"]+)"/.exec(page)?.[1] ?? '';

describe.each(MODES)('password reset requests are rate limited (%s)', (mode) => {
  let smtp: TestSmtp;
  let server: TestServer;

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer(mode, { SMTP_URL: smtp.url, RATE_LIMIT_ENABLED: 'true', TRUST_PROXY: 'true' });
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
  });

  /** A reset request for `email` from a fresh browser at client address `ip`; the status and the page, with the
   *  address and the form's token written out, so that two answers compare. */
  async function requestReset(ip: string, email: string) {
    const browser = new Browser(server.url);
    const headers = { 'x-forwarded-for': ip };
    const form = await (await browser.request('/account/forgot', { headers })).text();
    const res = await browser.request('/account/forgot', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: csrfOf(form), email }).toString(),
    });
    const page = await res.text();
    return { status: res.status, page: page.replaceAll(email, '{email}').replaceAll(csrfOf(page), '{token}') };
  }

  const mailsTo = (email: string) => smtp.received.filter((m) => JSON.stringify(m.to).includes(email)).length;
  const emailOf = (user: User) => `${user.username}@example.com`;
  const resetEvents = (user: User) =>
    server.db.prisma.auditEvent.count({ where: { accountId: user.id, type: 'user.password_reset_requested' } });

  /** Waits until every mail asked for before now went out: a request for `witness` made now is mailed after them. */
  async function settle(ip: string, witness: User) {
    expect((await requestReset(ip, emailOf(witness))).status).toBe(200);
    await smtp.nextTo(emailOf(witness));
  }

  it('answers the 4th request for one email address like the first, and mails nothing more', async () => {
    const [user, witness] = [await createUser(server), await createUser(server)];
    const ip = '203.0.113.10';
    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await requestReset(ip, emailOf(user)));
      await smtp.nextTo(emailOf(user));
    }
    const fourth = await requestReset(ip, emailOf(user));
    const nobody = await requestReset(ip, 'nobody-here@example.com');
    expect(fourth.status).toBe(200);
    expect(fourth.page).toContain('a link to choose a new password is on its way');
    // The same page for the first request, the limited one, and an address no account has.
    expect(fourth.page).toBe(answers[0]!.page);
    expect(nobody).toEqual(fourth);

    await settle(ip, witness);
    expect(mailsTo(emailOf(user))).toBe(3);
    await expect(resetEvents(user)).resolves.toBe(3);
  });

  it('holds under a parallel burst: 12 requests for one address at once send 3 mails', async () => {
    const [user, witness] = [await createUser(server), await createUser(server)];
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => requestReset(`203.0.113.${30 + i}`, emailOf(user))),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    await settle('203.0.113.29', witness);
    expect(mailsTo(emailOf(user))).toBe(3);
    await expect(resetEvents(user)).resolves.toBe(3);
  });

  it('answers 429 past 10 requests from one client address, the same whether or not the account exists, and mails nothing', async () => {
    const [user, witness] = [await createUser(server), await createUser(server)];
    const ip = '203.0.113.20';
    for (let i = 0; i < 10; i++) expect((await requestReset(ip, `someone-${i}@example.com`)).status).toBe(200);

    const existing = await requestReset(ip, emailOf(user));
    const unknown = await requestReset(ip, 'nobody-here@example.com');
    expect(existing.status).toBe(429);
    expect(existing.page).toMatch(/Too many attempts\. Try again in \d+ minutes\./);
    expect(existing.page).not.toContain('on its way');
    expect(unknown).toEqual(existing);

    // Another address is not limited; by the time its mail arrives, the limited request would have been mailed.
    await settle('203.0.113.21', witness);
    expect(mailsTo(emailOf(user))).toBe(0);
    await expect(resetEvents(user)).resolves.toBe(0);
  });
});
