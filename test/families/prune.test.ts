// Storage hygiene: `tokens prune` removes dead families (idle or absolute expiry passed) with their tokens, and
// expired durable payloads; live families, revoked-but-unexpired ones (their history) and live payloads stay. The
// periodic job runs on one instance per interval.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { familyOf } from '../support/families.js';
import { createTestClient, createUser, obtainTokens, refresh } from '../support/oauth.js';
import { runCli } from '../support/process.js';
import { redisUrl, uniquePrefix, deleteRedisKeys } from '../support/postgres.js';
import { startServer, type TestServer } from '../support/server.js';
import { startPruneJob } from '../../src/families/prune.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import { createLogger } from '../../src/observability/logger.js';

describe('tokens prune', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external', { PRUNE_INTERVAL_SECONDS: '0' });
  });
  afterAll(() => server?.stop());

  it('removes what is dead and nothing else', async () => {
    const client = await createTestClient(server);
    const user = await createUser(server);
    const make = async () => {
      const t = await obtainTokens(server, client, user);
      const r = await refresh(server, client, t.refresh_token);
      return { ...(await familyOf(server, t.refresh_token)), head: r.body.refresh_token as string };
    };
    const [idleDead, absoluteDead, live, revokedLive] = [await make(), await make(), await make(), await make()];
    await server.db.sql.query(
      "UPDATE refresh_token_families SET idle_expires_at = now() - interval '1 minute' WHERE id = $1",
      [idleDead.id],
    );
    await server.db.sql.query(
      "UPDATE refresh_token_families SET expires_at = now() - interval '1 minute' WHERE id = $1",
      [absoluteDead.id],
    );
    await server.db.sql.query(
      "UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = 'test' WHERE id = $1",
      [revokedLive.id],
    );
    await server.db.sql.query(`INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES
      ('Grant', 'expired-1', '{}', now() - interval '1 minute'), ('Grant', 'expired-2', '{}', now() - interval '1 second'),
      ('Grant', 'live-1', '{}', now() + interval '1 hour')`);
    const payloadsBefore = await server.db.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM oidc_payloads WHERE expires_at < now()',
    );

    const res = await runCli(['tokens', 'prune', '--batch-size', '1'], { env: server.env });
    expect(res.code).toBe(0);
    expect(res.json).toEqual({ removed: { families: 2, payloads: payloadsBefore[0]!.n } });

    const families = await server.db.sql.query<{ id: string }>('SELECT id FROM refresh_token_families');
    const ids = families.map((f) => f.id);
    expect(ids).toEqual(expect.arrayContaining([live.id, revokedLive.id]));
    expect(ids).not.toContain(idleDead.id);
    expect(ids).not.toContain(absoluteDead.id);
    const orphans = await server.db.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM refresh_tokens WHERE family_id = ANY($1::uuid[])',
      [[idleDead.id, absoluteDead.id]],
    );
    expect(orphans[0]!.n).toBe(0);
    expect(
      (await server.db.sql.query("SELECT id FROM oidc_payloads WHERE id IN ('expired-1','expired-2','live-1')")).map(
        (r) => r.id,
      ),
    ).toEqual(['live-1']);
    // Reuse detection still works on the live family: its consumed token is still known.
    expect((await refresh(server, client, live.head)).status).toBe(200);

    const again = await runCli(['tokens', 'prune'], { env: server.env });
    expect(again.json).toEqual({ removed: { families: 0, payloads: 0 } });
  });
});

describe('the periodic prune job', () => {
  it('runs on one instance per interval', async () => {
    const prefix = uniquePrefix();
    const stores = await Promise.all([1, 2, 3].map(() => createRedisStore({ url: redisUrl(), prefix })));
    const runs: number[] = [];
    const logger = createLogger({ level: 'silent' });
    const stops = stores.map((store, i) =>
      startPruneJob({
        store,
        logger,
        intervalSeconds: 1,
        prune: async () => {
          runs.push(i);
          return { families: 0, payloads: 0 };
        },
      }),
    );
    try {
      await new Promise((r) => setTimeout(r, 3500));
    } finally {
      stops.forEach((stop) => stop());
      await Promise.all(stores.map((s) => s.close()));
      await deleteRedisKeys(prefix);
    }
    // Three ticks of three instances: each tick exactly one of them prunes.
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(4);
  });
});
