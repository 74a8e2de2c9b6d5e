// X-Forwarded-* is honoured only when TRUST_PROXY says a proxy of ours sets it: otherwise any client could choose
// the address its family records and its rate limits count against.
import { afterAll, describe, expect, it } from '@jest/globals';

import { familyOf } from '../support/families.js';
import { authorize, createTestClient, createUser } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

async function familyIpWith(server: TestServer, forwardedFor: string) {
  const client = await createTestClient(server);
  const { code, verifier } = await authorize(server, client, await createUser(server));
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': forwardedFor,
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: client.redirect_uris[0]!,
    }),
  });
  const tokens = (await res.json()) as { refresh_token: string };
  return (await familyOf(server, tokens.refresh_token)).ip;
}

describe('proxy headers', () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('are ignored by default', async () => {
    const server = await startServer('embedded');
    servers.push(server);
    expect(await familyIpWith(server, '203.0.113.9')).toMatch(/127\.0\.0\.1|::1/);
  });

  it('are honoured with TRUST_PROXY=true', async () => {
    const server = await startServer('embedded', { TRUST_PROXY: 'true' });
    servers.push(server);
    expect(await familyIpWith(server, '203.0.113.9')).toBe('203.0.113.9');
  });
});
