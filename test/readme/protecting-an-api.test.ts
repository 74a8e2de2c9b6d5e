// The README's "Protecting an API" section runs as written: its shell block is extracted from README.md and run
// with bash, from the repository root, against a server process (`tsx src/main.ts`, as `npm start` runs it) on the
// embedded default, with only TOLLGATE (where the server listens) and the storage location set. Then what it
// printed is checked: the allowed scope granted, the JWT verified with jose, introspection, and the removal.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';

import { REPO_ROOT, startServerProcess, stopAllProcesses, type ServerProcess } from '../support/process.js';
import { createStorage, type Storage } from '../support/server.js';

/** The first ```sh block of the README section `heading`. */
function shellBlock(heading: string): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const section = readme.slice(start + heading.length + 2).split(/\n## /)[0]!;
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error(`no sh block in ${heading}`);
  return block;
}

/** Splits concatenated JSON documents (what the commands print one after another). */
function jsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let inString = false;
  let begin = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth++ === 0) begin = i;
    } else if ((c === '}' || c === ']') && --depth === 0) docs.push(JSON.parse(text.slice(begin, i + 1)));
  }
  return docs;
}

function runBash(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('README: Protecting an API', () => {
  let storage: Storage;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    await stopAllProcesses();
    await storage?.cleanup();
  });

  it('runs as written and prints what the README says', async () => {
    const script = shellBlock('## Protecting an API');
    storage = await createStorage('embedded');
    server = await startServerProcess({ ...storage.env, NODE_ENV: 'development' }, { timeoutMs: 60_000 });
    const run = await runBash(script, { ...storage.env, TOLLGATE: server.url });
    expect([run.code, run.stderr.split('\n').filter((l) => /"error"/.test(l))]).toEqual([0, []]);

    const docs = jsonDocuments(run.stdout) as Record<string, unknown>[];
    // resources update, clients allow, the token response, jose's verification, introspection, the removal, the refusal.
    expect(docs).toHaveLength(7);
    const [described, allowed, token, verified, introspected, removed, refused] = docs;
    expect(described).toMatchObject({
      identifier: 'https://orders.example.com',
      name: 'Orders API',
      scopes: [
        { name: 'orders:read', description: 'Read your orders' },
        { name: 'orders:write', description: 'Place and cancel orders' },
      ],
    });
    expect(allowed).toEqual({
      client_id: expect.any(String),
      resource: 'https://orders.example.com',
      scopes: ['orders:read'],
    });
    expect(token).toEqual({ scope: 'orders:read', token_type: 'Bearer', expires_in: 900 });
    expect(verified).toEqual({ client_id: allowed!.client_id, scope: 'orders:read' });
    expect(introspected).toEqual({
      active: true,
      scope: 'orders:read',
      aud: 'https://orders.example.com',
      client_id: allowed!.client_id,
    });
    expect(removed).toEqual({ client_id: allowed!.client_id, resource: 'https://orders.example.com', scopes: [] });
    expect(refused).toEqual({ error: 'invalid_target' });
  }, 180_000);
});
