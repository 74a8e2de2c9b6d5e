// Sealed values (private signing keys, the grace window's cached responses): authenticated encryption that refuses
// anything it did not make, a truncated authentication tag included.
import { randomBytes } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import { createSealer } from '../../src/crypto/seal.js';

describe('sealer', () => {
  const sealer = createSealer(randomBytes(32));

  it('opens what it sealed, in the same context only', () => {
    const sealed = sealer.seal('secret response', 'ctx-a');
    expect(sealed).not.toContain('secret');
    expect(sealer.open(sealed, 'ctx-a')).toBe('secret response');
    expect(() => sealer.open(sealed, 'ctx-b')).toThrow();
  });

  it('refuses a truncated authentication tag, however short', () => {
    const sealed = sealer.seal('secret response', 'ctx');
    const [version, iv, body, tag] = sealed.split('.');
    const full = Buffer.from(tag!, 'base64url');
    expect(full).toHaveLength(16);
    for (const length of [4, 8, 12, 13, 15]) {
      const truncated = [version, iv, body, full.subarray(0, length).toString('base64url')].join('.');
      expect(() => sealer.open(truncated, 'ctx')).toThrow('malformed sealed value');
    }
    const longer = [version, iv, body, Buffer.concat([full, Buffer.alloc(1)]).toString('base64url')].join('.');
    expect(() => sealer.open(longer, 'ctx')).toThrow();
  });

  it('refuses a tampered body', () => {
    const [version, iv, body, tag] = sealer.seal('secret response', 'ctx').split('.');
    const flipped = Buffer.from(body!, 'base64url');
    flipped.writeUInt8(flipped.readUInt8(0) ^ 1, 0);
    expect(() => sealer.open([version, iv, flipped.toString('base64url'), tag].join('.'), 'ctx')).toThrow();
  });
});
