// The root secret and the keys derived from it. One secret is configured (TOLLGATE_SECRET); each purpose gets its
// own key through HKDF so that, for example, a leaked cookie key says nothing about the token-hashing key.
import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Config } from '../config.js';

export interface DerivedKeys {
  /**
   * HMAC-SHA256 key for every token identifier and client secret stored. Derived from the secret on a fresh
   * install, then kept sealed in the database (src/crypto/stored-keys.ts) so that it survives a secret rotation:
   * boot and the CLI replace this derived value with the stored one.
   */
  tokenHash: Buffer;
  /** AES-256-GCM key sealing private signing keys and cached token responses. */
  seal: Buffer;
  /** The seal keys of TOLLGATE_SECRET_PREVIOUS: values sealed under an old secret still open. */
  sealPrevious: Buffer[];
  /** Keys for oidc-provider's signed cookies: the first signs, every one verifies (previous secrets' too). */
  cookies: string[];
  /** HMAC-SHA256 key of the CSRF tokens in Tollgate's own forms (src/request/csrf.ts). */
  csrf: Buffer;
}

const derive = (secret: string, purpose: string) => Buffer.from(hkdfSync('sha256', secret, 'tollgate', purpose, 32));

export function deriveKeys(secret: string, previous: string[] = []): DerivedKeys {
  return {
    tokenHash: derive(secret, 'token-hash'),
    seal: derive(secret, 'seal'),
    sealPrevious: previous.map((old) => derive(old, 'seal')),
    cookies: [secret, ...previous].map((each) => derive(each, 'cookies').toString('base64url')),
    csrf: derive(secret, 'csrf'),
  };
}

/**
 * The configured secret, or in development one generated on first start and kept under DATA_DIR (mode 0600) so
 * that restarts and other processes on the same DATA_DIR (the CLI, a second instance) agree. config.ts refuses
 * production without TOLLGATE_SECRET, so the file path is never taken there.
 */
export async function resolveSecret(config: Pick<Config, 'secret' | 'dataDir'>): Promise<string> {
  if (config.secret) return config.secret;
  const file = join(config.dataDir, 'secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(config.dataDir, { recursive: true });
  const generated = randomBytes(32).toString('base64url');
  try {
    // 'wx': if another process created it first, keep theirs.
    await writeFile(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    return generated;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return (await readFile(file, 'utf8')).trim();
  }
}
