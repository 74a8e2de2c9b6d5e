// The upgrade guard of the refresh grant fork: src/oidc/grants/refresh-token.ts records which upstream file and
// version it copies. When an upgrade of oidc-provider changes that file, this test fails until someone has read the
// new upstream grant, carried over what matters, and recorded the new hash (and version) in the fork's header.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

const header = await readFile(new URL('../../src/oidc/grants/refresh-token.ts', import.meta.url), 'utf8');
const recorded = {
  version: /upstream: oidc-provider@(\S+) (\S+)/.exec(header),
  sha256: /upstream-sha256: ([0-9a-f]{64})/.exec(header),
};

describe('the refresh grant fork', () => {
  it('names the upstream file, its version and its hash', () => {
    expect(recorded.version).not.toBeNull();
    expect(recorded.sha256).not.toBeNull();
  });

  it('matches the installed oidc-provider grant byte for byte (review the fork when this fails)', async () => {
    const [, version, file] = recorded.version!;
    // The package's exports hide lib/actions; find its folder through the one path it does export.
    const root = dirname(createRequire(import.meta.url).resolve('oidc-provider/package.json'));
    const installed = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    const source = await readFile(join(root, file!));
    const sha256 = createHash('sha256').update(source).digest('hex');
    expect({ version: installed.version, sha256 }).toEqual({ version, sha256: recorded.sha256![1] });
  });
});
