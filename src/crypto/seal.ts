// Authenticated encryption for values that must be recoverable but never readable at rest: private signing keys
// (database) and cached token responses (short-lived store). AES-256-GCM, random 96-bit nonce per value.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
// GCM accepts tags as short as 4 bytes unless told otherwise: a value whose tag was truncated would then be
// checked against fewer bits (NIST SP 800-38D §5.2.1.2). Tags are always made at 16 bytes; only 16 is accepted.
const TAG_LENGTH = 16;

export interface Sealer {
  seal(plaintext: string, context?: string): string;
  open(sealed: string, context?: string): string;
}

/**
 * `context` is bound as additional data: a value sealed for one purpose or key cannot be replayed as another.
 * `previous`: keys of earlier secrets (TOLLGATE_SECRET_PREVIOUS); a value that does not open with `key` is tried
 * with each (only then: the usual case costs nothing more). Sealing always uses `key`.
 */
export function createSealer(key: Buffer, previous: Buffer[] = []): Sealer {
  const current = sealerWith(key);
  if (previous.length === 0) return current;
  const older = previous.map(sealerWith);
  return {
    seal: current.seal,
    open(sealed, context) {
      try {
        return current.open(sealed, context);
      } catch (err) {
        for (const each of older) {
          try {
            return each.open(sealed, context);
          } catch {
            // not this one either
          }
        }
        throw err;
      }
    },
  };
}

function sealerWith(key: Buffer): Sealer {
  return {
    seal(plaintext, context = '') {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv, body, cipher.getAuthTag()]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    },
    open(sealed, context = '') {
      const [version, iv, body, tag] = sealed.split('.');
      if (version !== VERSION || !iv || body === undefined || !tag) throw new Error('malformed sealed value');
      const authTag = Buffer.from(tag, 'base64url');
      if (authTag.length !== TAG_LENGTH) throw new Error('malformed sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_LENGTH,
      });
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(authTag);
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
