// The operator's CLI. Works whether or not the server runs, embedded or external. Every command prints one JSON
// document on stdout; failures print one JSON error on stderr and exit non-zero.
import { text } from 'node:stream/consumers';

import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { clientsAllow, clientsCreate, clientsRotateSecret } from './commands/clients.js';
import { registrationTokenCreate } from './commands/registration.js';
import { resourcesCreate, resourcesDelete, resourcesList, resourcesUpdate } from './commands/resources.js';
import { sessionsList, sessionsRevoke } from './commands/sessions.js';
import { keysRotate } from './commands/keys.js';
import { tokensPrune } from './commands/tokens.js';
import { usersCreate } from './commands/users.js';
import { openCliContext, type CliContext } from './context.js';

type Command = (ctx: CliContext, args: string[]) => Promise<unknown>;

const COMMANDS: Record<string, Command> = {
  'users create': usersCreate,
  'clients create': clientsCreate,
  'clients rotate-secret': clientsRotateSecret,
  'clients allow': clientsAllow,
  'resources create': resourcesCreate,
  'resources list': resourcesList,
  'resources update': resourcesUpdate,
  'resources delete': resourcesDelete,
  'sessions list': sessionsList,
  'sessions revoke': sessionsRevoke,
  'tokens prune': tokensPrune,
  'keys rotate': keysRotate,
  'registration token create': registrationTokenCreate,
  'db migrate': async (ctx) => ({ applied: await migrate(ctx.db.sql) }), // the context already migrated; reports [] then
};

const USAGE = `usage: tollgate <command> [options]
  users create --username U --password-stdin [--email E]
  clients create --name N [--redirect-uri URI]... [--public] [--grant-types a,b] [--scopes "a b"] [--admin]
                 [--resource-server URI --resource-scopes "a b" [--resource-name N]]
  clients rotate-secret --client-id C
  clients allow --client-id C --resource URI --scopes "a b"     ("" takes the allowance away)
  resources create --resource URI --name N --scopes "a b" [--describe "a=text"]...
  resources list
  resources update --resource URI [--name N] [--scopes "a b"] [--describe "a=text"]...
  resources delete --resource URI
  sessions list --username U
  sessions revoke --username U (--family F | --all)
  tokens prune [--batch-size N]
  keys rotate [--alg ES256|RS256]
  registration token create [--expires-in S] [--max-uses N]
  db migrate`;

async function run(argv: string[]): Promise<unknown> {
  // Commands are two words (`clients create`) or three (`registration token create`).
  const words = COMMANDS[argv.slice(0, 3).join(' ')] ? 3 : 2;
  const command = COMMANDS[argv.slice(0, words).join(' ')];
  if (!command) throw Object.assign(new Error(USAGE), { error: 'invalid_request', error_description: USAGE });
  const ctx = await openCliContext(loadConfig(), () => text(process.stdin));
  try {
    return await command(ctx, argv.slice(words));
  } finally {
    await ctx.db.close();
  }
}

run(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  },
  (err: { error?: string; error_description?: string; message?: string; problems?: string[] }) => {
    const body = {
      error: err.error ?? (err.problems ? 'invalid_configuration' : 'invalid_request'),
      error_description: err.error_description ?? err.message ?? String(err),
    };
    process.stderr.write(`${JSON.stringify(body)}\n`);
    process.exitCode = 1;
  },
);
