// The operator's CLI. Works whether or not the server runs, embedded or external. Every command prints one JSON
// document on stdout; failures print one JSON error on stderr and exit non-zero. `--help` (alone or after a
// command) prints plain text. Arguments are checked before any storage is opened.
//
// `runCli` takes its arguments, environment and streams as parameters instead of reading them off `process`:
// src/cli/main.ts passes the process's, and the tests pass their own, running commands in-process against a test
// server's storage without booting a new process for each one.
import { text } from 'node:stream/consumers';

import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { clientsAllow, clientsCreate, clientsRotateSecret } from './commands/clients.js';
import { registrationTokenCreate } from './commands/registration.js';
import { resourcesCreate, resourcesDelete, resourcesList, resourcesUpdate } from './commands/resources.js';
import { sessionsList, sessionsRevoke } from './commands/sessions.js';
import { keysRotate } from './commands/keys.js';
import { secretsReseal } from './commands/secrets.js';
import { tokensPrune } from './commands/tokens.js';
import {
  usersCreate,
  usersDelete,
  usersDisable,
  usersEnable,
  usersList,
  usersSetPassword,
  usersShow,
  usersUpdate,
} from './commands/users.js';
import { dryRunContext, NeedsStorage, openCliContext, type CliContext, type CliStreams } from './context.js';
import { commandUsage, nearestCommand } from './help.js';

type Command = (ctx: CliContext, args: string[]) => Promise<unknown>;

const COMMANDS: Record<string, Command> = {
  'users create': usersCreate,
  'users list': usersList,
  'users show': usersShow,
  'users update': usersUpdate,
  'users disable': usersDisable,
  'users enable': usersEnable,
  'users delete': usersDelete,
  'users set-password': usersSetPassword,
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
  'secrets reseal': secretsReseal,
  'registration token create': registrationTokenCreate,
  'db migrate': async (ctx) => ({ applied: await migrate(ctx.db.sql) }), // the context already migrated; reports [] then
};

const USAGE = `usage: tollgate <command> [options]
  users create --username U --password-stdin [--email E]
  users list [--query Q] [--limit N] [--cursor C]
  users show --username U
  users disable --username U      (sign-in refused, every token dead at once)
  users enable --username U
  users delete --username U       (the audit trail stays)
  users update --username U --email E
  users set-password --username U --password-stdin     (signs the user out everywhere)
  clients create --name N [--redirect-uri URI]... [--public] [--grant-types a,b] [--scopes "a b"] [--admin]
                 [--resource-server URI --resource-scopes "a b" [--resource-name N]]
                 [--id-token-signed-response-alg ES256|RS256] [--allow-nonce-instead-of-pkce]
                 [--backchannel-logout-uri URI] [--auth-method private_key_jwt (--jwks-uri URI | --jwks-file F)]
                 [--require-pushed-authorization-requests] [--dpop-bound-access-tokens]
  clients rotate-secret --client-id C
  clients allow --client-id C --resource URI --scopes "a b"     ("" takes the allowance away)
  resources create --resource URI --name N --scopes "a b" [--describe "a=text"]...
  resources list
  resources update --resource URI [--name N] [--scopes "a b"] [--describe "a=text"]...
  resources delete --resource URI
  sessions list --username U
  sessions revoke --username U (--family F | --all)
  tokens prune [--batch-size N]
  keys rotate [--alg ES256|RS256]                                 (both algorithms unless --alg)
  secrets reseal                                                  (after a TOLLGATE_SECRET rotation, see README)
  registration token create [--expires-in S] [--max-uses N]
  db migrate`;

const HELP = `Tollgate's command line. It uses the server's environment (DATABASE_URL or DATA_DIR, TOLLGATE_SECRET,
REDIS_URL) and works whether or not the server runs. Each command prints one JSON document on stdout; an error
prints one JSON line on stderr and exits non-zero.

${USAGE.replace('usage: tollgate <command> [options]', 'usage: npm run --silent cli -- <command> [options]\n       npm run --silent cli -- <command> --help\n\ncommands:')}
`;

const wantsHelp = (args: string[]) => args.includes('--help') || args.includes('-h');

const usageOf = (command: string) =>
  `usage (npm run --silent cli -- ...):\n${(commandUsage(USAGE, command) ?? command).replace(/^/gm, '  ')}\n`;

type Outcome = { json: unknown } | { text: string };

async function run(argv: string[], io: CliIo): Promise<Outcome> {
  if (argv.length === 0 || argv[0] === 'help' || wantsHelp(argv.slice(0, 1))) return { text: HELP };
  // Commands are two words (`clients create`) or three (`registration token create`).
  const words = COMMANDS[argv.slice(0, 3).join(' ')] ? 3 : 2;
  const name = argv.slice(0, words).join(' ');
  const command = COMMANDS[name];
  if (!command) {
    const firstOption = argv.findIndex((a) => a.startsWith('-'));
    const typed = firstOption < 0 ? argv : argv.slice(0, firstOption);
    const nearest = nearestCommand(typed, Object.keys(COMMANDS));
    if (nearest && wantsHelp(argv)) return { text: usageOf(nearest) };
    const what = typed.slice(0, 3).join(' ') || argv.join(' ');
    const group = Object.keys(COMMANDS).filter((c) => typed.length === 1 && c.startsWith(`${typed[0]} `));
    throw Object.assign(new Error('unknown command'), {
      error: 'invalid_request',
      error_description: group.length
        ? `"${what}" needs a subcommand: ${group.join(', ')} (--help lists the commands)`
        : `unknown command "${what}"${nearest ? `; did you mean "${nearest}"?` : ''} (--help lists the commands)`,
    });
  }
  const args = argv.slice(words);
  if (wantsHelp(args)) return { text: usageOf(name) };
  const config = loadConfig(io.env);
  let input: Promise<string> | undefined;
  const streams: CliStreams = { stdin: () => (input ??= text(io.stdin)), stderr: io.stderr };
  // First without storage: bad arguments fail here, before a database is opened or created.
  try {
    return { json: await command(dryRunContext(config, streams), args) };
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw Object.assign(new Error('bad arguments'), {
        error: 'invalid_request',
        error_description: `${(err as Error).message} (see: ${name} --help)`,
      });
    }
    if (!(err instanceof NeedsStorage)) throw err;
  }
  const ctx = await openCliContext(config, streams);
  try {
    return { json: await command(ctx, args) };
  } finally {
    await ctx.db.close();
  }
}

/** Where a CLI run reads and writes: the process's own in src/cli/main.ts. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Runs one CLI command (argv without the program name) to completion; resolves to its exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const outcome = await run(argv, io);
    io.stdout.write('text' in outcome ? outcome.text : `${JSON.stringify(outcome.json, null, 2)}\n`);
    return 0;
  } catch (e) {
    const err = e as { error?: string; error_description?: string; message?: string; problems?: string[] };
    const body = {
      error: err.error ?? (err.problems ? 'invalid_configuration' : 'invalid_request'),
      error_description: err.error_description ?? err.message ?? String(err),
    };
    io.stderr.write(`${JSON.stringify(body)}\n`);
    return 1;
  }
}
