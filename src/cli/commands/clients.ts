import { parseArgs } from 'node:util';

import { createClient } from '../../clients/clients.js';
import type { CliContext } from '../context.js';

/** clients create --name N [--redirect-uri URI]... [--public] [--grant-types a,b] [--scopes "a b"] [--admin] */
export async function clientsCreate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'grant-types': { type: 'string' },
      scopes: { type: 'string' },
      admin: { type: 'boolean' },
    },
    strict: true,
  });
  return createClient(ctx.db.prisma, ctx.hash, {
    name: values.name ?? '',
    redirectUris: values['redirect-uri'] ?? [],
    public: values.public ?? false,
    grantTypes: values['grant-types']?.split(',').map((g) => g.trim()).filter(Boolean),
    scopes: values.scopes,
    admin: values.admin ?? false,
  });
}
