// Many presentations of one refresh token at once, spread over two app instances on one database and store:
// with a grace window they all receive the one successor; strictly, at most one succeeds and the family is
// revoked. Never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { familyOf, tokensOf } from '../support/families.js';
import { createTestClient, createUser, obtainTokens, refresh } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

const PRESENTATIONS = 20;

describe.each([
  ['grace window on', '10'],
  ['strict rotation', '0'],
])('%s: %i concurrent presentations across two instances', (label, grace) => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    a = await startServer('external', { REFRESH_REUSE_GRACE_SECONDS: grace });
    b = await a.sibling();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it.each([1, 2, 3])('round %i', async () => {
    const client = await createTestClient(a);
    const tokens = await obtainTokens(a, client, await createUser(a));
    const results = await Promise.all(
      Array.from({ length: PRESENTATIONS }, (_, i) => refresh(i % 2 ? b : a, client, tokens.refresh_token)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 400)).toBe(true);
    const family = await familyOf(a, tokens.refresh_token);
    const successors = (await tokensOf(a, family.id)).filter((t) => t.generation === 1);

    if (label === 'grace window on') {
      expect(statuses).toEqual(Array(PRESENTATIONS).fill(200));
      const issued = new Set(results.map((r) => r.body.refresh_token));
      expect(issued.size).toBe(1);
      expect(successors).toHaveLength(1);
      expect(successors[0]!.id).toBe(a.hash([...issued][0] as string));
      expect(family.revoked_at).toBeNull();
      expect((await refresh(b, client, [...issued][0] as string)).status).toBe(200);
    } else {
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1);
      for (const r of results.filter((x) => x.status === 400)) expect(r.body.error).toBe('invalid_grant');
      expect(successors.length).toBeLessThanOrEqual(1);
      expect(family.revoked_reason).toBe('reuse_detected');
    }
  });
});
