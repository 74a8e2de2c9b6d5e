// One queries module per table (docs/architecture.md, "Data access"): only the module that owns a table names it in
// SQL or reaches it through its Prisma model; everyone else calls that module. The few statements that must read or
// write another module's table themselves (one round trip, or one atomic statement) are listed below with the reason,
// and the list may only shrink: an exception no longer used fails too. Generated code and migrations are not scanned.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Table → its Prisma model and the module that owns it. */
const OWNERS: Record<string, { model: string; owner: string }> = {
  accounts: { model: 'account', owner: 'src/accounts/account-queries.ts' },
  account_tokens: { model: 'accountToken', owner: 'src/accounts/links.ts' },
  clients: { model: 'client', owner: 'src/clients/client-queries.ts' },
  resource_servers: { model: 'resourceServer', owner: 'src/clients/resource-servers.ts' },
  resource_scopes: { model: 'resourceScope', owner: 'src/clients/resource-servers.ts' },
  client_resource_scopes: { model: 'clientResourceScope', owner: 'src/clients/allowances.ts' },
  oidc_payloads: { model: 'oidcPayload', owner: 'src/db/oidc-payloads.ts' },
  signing_keys: { model: 'signingKey', owner: 'src/crypto/stored-keys.ts' },
  refresh_token_families: { model: 'refreshFamily', owner: 'src/families/repository.ts' },
  refresh_tokens: { model: 'refreshToken', owner: 'src/families/repository.ts' },
  audit_events: { model: 'auditEvent', owner: 'src/audit/records.ts' },
  registration_tokens: { model: 'registrationToken', owner: 'src/registration/tokens.ts' },
  secret_keys: { model: 'secretKey', owner: 'src/crypto/stored-keys.ts' },
  backchannel_logouts: { model: 'backchannelLogout', owner: 'src/logout/queue.ts' },
};

/** file → tables it may name besides its own, and why. */
const EXCEPTIONS: Record<string, { tables: string[]; why: string }> = {
  'src/families/repository.ts': {
    tables: ['accounts', 'oidc_payloads', 'audit_events'],
    why: 'the refresh lookup reads the family, its grant and its account in one round trip; starting a family extends its grant in the same statement; the rotation, a hot named statement, writes its two audit rows itself (src/audit/records.ts says why)',
  },
  'adapters/grant-adapter.ts': {
    tables: ['oidc_payloads', 'accounts'],
    why: "oidc-provider's durable models are stored by their adapter; a grant is read with its account in one round trip",
  },
  'src/logout/queue.ts': {
    tables: ['clients', 'refresh_token_families', 'refresh_tokens', 'oidc_payloads'],
    why: 'the recipients of a back-channel logout are chosen and queued by one INSERT ... SELECT',
  },
  'src/accounts/devices.ts': {
    tables: ['oidc_payloads'],
    why: "the account page lists the account's grants and withdraws one (deleted with its audit row in one statement)",
  },
  'src/clients/scopes.ts': {
    tables: ['resource_scopes'],
    why: 'a client may only be given scopes some API defines (resource-servers.ts imports this module)',
  },
};

const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', 'src', 'adapters'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\0')
  .filter((f) => f.endsWith('.ts') && !f.startsWith('src/db/generated/'));

/** The code without its comments (a comment may show a statement as an example). */
const code = (file: string) =>
  readFileSync(join(root, file), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');

const QUERY_METHODS =
  'findUnique|findUniqueOrThrow|findFirst|findFirstOrThrow|findMany|create|createMany|update|updateMany|upsert|delete|deleteMany|count|aggregate|groupBy';

/** The tables a file names: in SQL (after FROM, JOIN, INTO or UPDATE), or by their Prisma model. */
export function tablesNamedIn(source: string): string[] {
  return Object.entries(OWNERS)
    .filter(
      ([table, { model }]) =>
        new RegExp(`\\b(FROM|JOIN|INTO|UPDATE)\\s+"?${table}"?(?![\\w"])`, 'i').test(source) ||
        new RegExp(`\\.${model}\\s*\\.\\s*(${QUERY_METHODS})\\b`).test(source),
    )
    .map(([table]) => table);
}

describe('data access: one queries module per table', () => {
  it('scans the source (the owners exist)', () => {
    expect(files.length).toBeGreaterThan(100);
    for (const { owner } of Object.values(OWNERS)) expect(files).toContain(owner);
  });

  it('finds a table named in SQL or through its model, not in other words', () => {
    expect(tablesNamedIn('UPDATE accounts SET x = 1')).toEqual(['accounts']);
    expect(tablesNamedIn('SELECT 1 FROM "oidc_payloads" WHERE')).toEqual(['oidc_payloads']);
    expect(tablesNamedIn('await this.#prisma.client.findUnique({ where })')).toEqual(['clients']);
    expect(tablesNamedIn('ctx.oidc.client.clientId; the accounts of a client')).toEqual([]);
    expect(tablesNamedIn('FROM refresh_tokens t')).toEqual(['refresh_tokens']);
  });

  it('only the owning module names a table (or a listed exception)', () => {
    const offenders = files.flatMap((file) => {
      const allowed = new Set(EXCEPTIONS[file]?.tables ?? []);
      return tablesNamedIn(code(file))
        .filter((table) => OWNERS[table]!.owner !== file && !allowed.has(table))
        .map((table) => `${file} names ${table}: call ${OWNERS[table]!.owner} instead`);
    });
    expect(offenders).toEqual([]);
  });

  it('every exception is still used (the list only shrinks)', () => {
    const stale = Object.entries(EXCEPTIONS).flatMap(([file, { tables }]) => {
      const named = files.includes(file) ? tablesNamedIn(code(file)) : [];
      return tables.filter((t) => !named.includes(t)).map((t) => `${file} no longer names ${t}`);
    });
    expect(stale).toEqual([]);
  });
});
