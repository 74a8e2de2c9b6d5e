// What Tollgate adds around oidc-provider's registration endpoints (POST /reg, GET|PUT|DELETE /reg/{id}):
//   - REGISTRATION=initial-token: a registration needs an initial access token (RFC 7591 §3) issued by an admin.
//     Tokens are hashed and counted (src/registration/tokens.ts); a refused registration gives its use back.
//   - Client secrets are stored as HMACs, so oidc-provider's copy of a registered client holds the HMAC: an RFC
//     7592 update that repeats the secret is compared by its hash, and read/update responses never carry the
//     HMAC as if it were the secret (the secret is shown once, at registration).
import type { Context, Middleware, Next } from 'koa';

import type { TokenHasher } from '../crypto/token-hash.js';
import type { PrismaClient } from '../db/generated/client.js';
import { Unauthorized } from '../errors.js';
import { readJson } from '../request/body.js';
import { returnRegistrationTokenUse, takeRegistrationTokenUse } from './tokens.js';

export type RegistrationMode = 'initial-token' | 'open' | 'off';

export interface RegistrationGateDeps {
  mode: RegistrationMode;
  prisma: PrismaClient;
  hash: TokenHasher;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,512}=*) *$/i;

const challenge = (description: string, bare = false) =>
  new Unauthorized(description, {
    headers: {
      'WWW-Authenticate': bare ? 'Bearer' : `Bearer error="invalid_token", error_description="${description}"`,
    },
  });

export const isRegistrationPath = (path: string) => path === '/reg' || path.startsWith('/reg/');

export function registrationGate({ mode, prisma, hash }: RegistrationGateDeps): Middleware {
  async function requireInitialAccessToken(ctx: Context, next: Next) {
    const header = ctx.get('authorization');
    if (!header) throw challenge('an initial access token is required to register a client', true);
    const token = BEARER.exec(header)?.[1];
    const use = token ? await takeRegistrationTokenUse(prisma, hash, token) : undefined;
    if (!use) throw challenge('the initial access token is invalid, expired or used up');
    let registered = false;
    try {
      await next();
      registered = ctx.status === 201;
    } finally {
      if (!registered) await returnRegistrationTokenUse(prisma, use);
    }
  }

  async function compareSecretByHash(ctx: Context) {
    const body = await readJson(ctx);
    if (
      body &&
      typeof body === 'object' &&
      !Array.isArray(body) &&
      typeof (body as { client_secret?: unknown }).client_secret === 'string'
    ) {
      const b = body as { client_secret: string };
      b.client_secret = hash(b.client_secret);
    }
    // oidc-provider reads an already-read body from ctx.request.body.
    (ctx.request as { body?: unknown }).body = body;
  }

  return async function registrationGate(ctx, next) {
    if (mode === 'off') return next();
    if (ctx.path === '/reg') {
      if (ctx.method === 'POST' && mode === 'initial-token') return requireInitialAccessToken(ctx, next);
      return next();
    }
    if (ctx.method === 'PUT' && ctx.is('application/json')) await compareSecretByHash(ctx);
    await next();
    const body = ctx.body as { client_secret?: unknown } | undefined;
    const stored = (ctx as { oidc?: { client?: { clientSecret?: string } } }).oidc?.client?.clientSecret;
    if (body && typeof body === 'object' && stored && body.client_secret === stored) {
      delete body.client_secret;
      delete (body as { client_secret_expires_at?: unknown }).client_secret_expires_at;
    }
  };
}
