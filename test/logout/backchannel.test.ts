// OpenID Connect Back-Channel Logout 1.0: a client with a backchannel_logout_uri receives a logout token, verified
// here with jose against the JWKS, for each trigger (end_session, logout everywhere, one device signed out), through
// a durable queue that retries with backoff and audits every delivery and final failure.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { Browser } from '../support/browser.js';
import { authorize, createTestClient, createUser, exchangeCode } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** An RP's back-channel logout endpoint: answers with the next status of `statuses` (then 200), keeps the tokens. */
class Receiver {
  readonly tokens: string[] = [];
  statuses: number[] = [];
  #waiters: ((token: string) => void)[] = [];
  #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('logout_token') ?? '';
        res.statusCode = this.statuses.shift() ?? 200;
        res.end();
        if (res.statusCode === 200) {
          this.tokens.push(token);
          this.#waiters.shift()?.(token);
        }
      });
    });
  }

  async listen() {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/backchannel-logout`;
    return this;
  }

  /** The next logout token accepted (event-driven; fails the test after `ms`). */
  next(ms = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no logout token arrived')), ms);
      this.#waiters.push((t) => {
        clearTimeout(timer);
        resolve(t);
      });
    });
  }

  close() {
    return new Promise<void>((r) => this.#server.close(() => r()));
  }
}

async function waitForAudit(server: TestServer, clientId: string, type: string, ms = 10_000) {
  const until = Date.now() + ms;
  for (;;) {
    const event = await server.db.prisma.auditEvent.findFirst({ where: { clientId, type }, orderBy: { id: 'desc' } });
    if (event) return event;
    if (Date.now() > until) throw new Error(`no ${type} audit event`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(MODES)('back-channel logout (%s)', (mode) => {
  let server: TestServer;
  let receiver: Receiver;
  let admin: string;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  const verify = async (token: string, client: ClientView): Promise<JWTPayload> => {
    expect(decodeProtectedHeader(token).typ).toBe('logout+jwt');
    const { payload } = await jwtVerify(token, jwks, {
      issuer: server.config.issuer,
      audience: client.client_id,
      typ: 'logout+jwt',
    });
    expect(payload.events).toEqual({ [EVENT]: {} });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.nonce).toBeUndefined();
    return payload;
  };

  /** A user signed in to a client listening on the receiver: a session (refresh-token family) to end. */
  const signedIn = async () => {
    const user = await createUser(server);
    const client = await createTestClient(server, { backchannelLogoutUri: receiver.url });
    const authorized = await authorize(server, client, user);
    const tokens = await exchangeCode(server, client, authorized.code, authorized.verifier);
    expect(tokens.status).toBe(200);
    return { user, client, browser: authorized.browser };
  };

  beforeAll(async () => {
    server = await startServer(mode);
    receiver = await new Receiver().listen();
    admin = (await adminToken(server)).token;
    jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.stop();
  });

  it('advertises back-channel logout', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.backchannel_logout_supported).toBe(true);
  });

  it('end_session: the client gets a signed logout token for the user', async () => {
    const { user, client, browser } = await signedIn();
    const arrived = receiver.next();
    const page = await (await browser.get(`${server.url}/session/end?client_id=${client.client_id}`)).text();
    expect(page).toContain('id="op.logoutForm"');
    const action = /<form[^>]*action="([^"]+)"/.exec(page)![1]!;
    const done = await browser.follow(await browser.postForm(new URL(action, server.url).href, { logout: 'yes' }));
    expect(done.res.status).toBe(200);
    const payload = await verify(await arrived, client);
    expect(payload.sub).toBe(user.id);
    const event = await waitForAudit(server, client.client_id, 'backchannel_logout.delivered');
    expect(event).toMatchObject({
      accountId: user.id,
      outcome: 'success',
      detail: { reason: 'end_session', attempts: 1 },
    });
  });

  it('logout everywhere (admin API): every client of the user hears it', async () => {
    const { user, client } = await signedIn();
    const arrived = receiver.next();
    expect((await adminCall(server, 'DELETE', `/admin/users/${user.id}/sessions`, { token: admin })).status).toBe(204);
    expect((await verify(await arrived, client)).sub).toBe(user.id);
    expect(await waitForAudit(server, client.client_id, 'backchannel_logout.delivered')).toMatchObject({
      detail: { reason: 'logged_out_everywhere' },
    });
  });

  it('the account page: signing the other devices out, and changing the password, tell their clients', async () => {
    const { user, client } = await signedIn();
    const page = new Browser(server.url);
    const csrf = async (path: string) =>
      /name="csrf_token" value="([^"]+)"/.exec(await (await page.follow(await page.request(path))).res.text())?.[1] ??
      '';
    const post = async (path: string, fields: Record<string, string>) =>
      page.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
    const login = { username: user.username, password: user.password };
    expect((await post('/account/login', { csrf_token: await csrf('/account/login'), ...login })).status).toBe(303);

    const arrived = receiver.next();
    expect((await post('/account', { csrf_token: await csrf('/account'), action: 'sign-out-others' })).status).toBe(
      303,
    );
    const payload = await verify(await arrived, client);
    expect(payload.sub).toBe(user.id);
    expect(await waitForAudit(server, client.client_id, 'backchannel_logout.delivered')).toMatchObject({
      accountId: user.id,
      detail: { reason: 'logged_out_everywhere' },
    });

    // Another device of the same user, then a password change from the account page.
    const again = await authorize(server, client, user);
    expect((await exchangeCode(server, client, again.code, again.verifier)).status).toBe(200);
    const afterChange = receiver.next();
    const changed = await post('/account', {
      csrf_token: await csrf('/account'),
      action: 'change-password',
      current_password: user.password,
      new_password: 'a-brand-new-passphrase-42',
    });
    expect(changed.status).toBe(303);
    expect((await verify(await afterChange, client)).sub).toBe(user.id);
  });

  it('one device signed out (admin API, then the CLI): its client hears it', async () => {
    const { user, client } = await signedIn();
    const family = await server.db.prisma.refreshFamily.findFirstOrThrow({
      where: { accountId: user.id, clientId: client.client_id },
    });
    const arrived = receiver.next();
    expect(
      (await adminCall(server, 'DELETE', `/admin/users/${user.id}/sessions/${family.id}`, { token: admin })).status,
    ).toBe(204);
    expect((await verify(await arrived, client)).sub).toBe(user.id);
    expect(await waitForAudit(server, client.client_id, 'backchannel_logout.delivered')).toMatchObject({
      detail: { reason: 'session_revoked' },
    });

    // From the CLI (another process; the server's worker delivers what it queued).
    const second = await signedIn();
    const fam = await server.db.prisma.refreshFamily.findFirstOrThrow({ where: { accountId: second.user.id } });
    const viaCli = receiver.next(15_000);
    const res = await runCliInProcess(['sessions', 'revoke', '--username', second.user.username, '--family', fam.id], {
      env: server.env,
    });
    expect(res.code).toBe(0);
    expect((await verify(await viaCli, second.client)).sub).toBe(second.user.id);
  });

  it('a disabled, then a deleted user (admin API): the client hears it each time', async () => {
    for (const [call, reason] of [
      [
        (id: string) => adminCall(server, 'PATCH', `/admin/users/${id}`, { token: admin, body: { disabled: true } }),
        'account_disabled',
      ],
      [(id: string) => adminCall(server, 'DELETE', `/admin/users/${id}`, { token: admin }), 'account_deleted'],
    ] as const) {
      const { user, client } = await signedIn();
      const arrived = receiver.next();
      expect((await call(user.id)).status).toBeLessThan(300);
      expect((await verify(await arrived, client)).sub).toBe(user.id);
      expect(await waitForAudit(server, client.client_id, 'backchannel_logout.delivered')).toMatchObject({
        detail: { reason },
      });
    }
  });

  it('retries a failed delivery with backoff, from the durable queue', async () => {
    const { user, client } = await signedIn();
    receiver.statuses = [500];
    const arrived = receiver.next();
    expect((await adminCall(server, 'DELETE', `/admin/users/${user.id}/sessions`, { token: admin })).status).toBe(204);
    await verify(await arrived, client);
    expect(await waitForAudit(server, client.client_id, 'backchannel_logout.delivered')).toMatchObject({
      detail: { attempts: 2 },
    });
    expect(await server.db.prisma.backchannelLogout.count({ where: { clientId: client.client_id } })).toBe(0);
  });

  it('sets backchannel_logout_uri from the admin API and the CLI', async () => {
    const created = await adminCall(server, 'POST', '/admin/clients', {
      token: admin,
      body: {
        name: 'RP',
        redirect_uris: ['https://rp.example.com/cb'],
        backchannel_logout_uri: 'https://rp.example.com/logout',
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.backchannel_logout_uri).toBe('https://rp.example.com/logout');
    const bad = await adminCall(server, 'POST', '/admin/clients', {
      token: admin,
      body: {
        name: 'RP',
        redirect_uris: ['https://rp.example.com/cb'],
        backchannel_logout_uri: 'http://rp.example.com/logout',
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error_description).toMatch(/backchannel_logout_uri must use https/);
    const removed = await adminCall(server, 'PATCH', `/admin/clients/${created.body.client_id}`, {
      token: admin,
      body: { backchannel_logout_uri: null },
    });
    expect(removed.status).toBe(200);
    expect(removed.body.backchannel_logout_uri).toBeUndefined();

    const cli = await runCliInProcess(
      [
        'clients',
        'create',
        '--name',
        'RP2',
        '--redirect-uri',
        'https://rp.example.com/cb',
        '--backchannel-logout-uri',
        'https://rp.example.com/bcl',
      ],
      { env: server.env },
    );
    expect(cli.code).toBe(0);
    expect(cli.json).toMatchObject({ backchannel_logout_uri: 'https://rp.example.com/bcl' });
  });
});

describe('back-channel logout: final failure and production', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await new Receiver().listen();
  });
  afterAll(() => receiver?.close());

  it('gives up after BACKCHANNEL_LOGOUT_MAX_ATTEMPTS and audits the failure', async () => {
    const server = await startServer('external', { BACKCHANNEL_LOGOUT_MAX_ATTEMPTS: '2' });
    try {
      receiver.statuses = [503, 503];
      const user = await createUser(server);
      const client = await createTestClient(server, { backchannelLogoutUri: receiver.url });
      const { code, verifier } = await authorize(server, client, user);
      await exchangeCode(server, client, code, verifier);
      const { token } = await adminToken(server);
      await adminCall(server, 'DELETE', `/admin/users/${user.id}/sessions`, { token });
      const failed = await waitForAudit(server, client.client_id, 'backchannel_logout.failed');
      expect(failed).toMatchObject({
        outcome: 'failure',
        accountId: user.id,
        detail: { attempts: 2, reason: 'logged_out_everywhere' },
      });
      expect(String((failed.detail as { error: string }).error)).toMatch(/503/);
      expect(receiver.tokens).toHaveLength(0);
      expect(await server.db.prisma.backchannelLogout.count()).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('in production, a loopback target is refused (never called), and the failure audited', async () => {
    const server = await startServer('external', { NODE_ENV: 'production', BACKCHANNEL_LOGOUT_MAX_ATTEMPTS: '1' });
    try {
      const user = await createUser(server);
      const client = await createTestClient(server, { backchannelLogoutUri: receiver.url });
      // Queued as a sign-out would queue it (the browser flow needs https cookies in production).
      await server.db.prisma.backchannelLogout.create({
        data: { clientId: client.client_id, accountId: user.id, reason: 'logged_out_everywhere' },
      });
      const failed = await waitForAudit(server, client.client_id, 'backchannel_logout.failed');
      expect(failed.outcome).toBe('failure');
      expect(String((failed.detail as { error: string }).error)).toMatch(/special-use address/);
      expect(receiver.tokens).toHaveLength(0);
    } finally {
      await server.stop();
    }
  });
});
