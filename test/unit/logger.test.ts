// The logger's redaction is the second line of defence: secret-bearing fields are censored wherever they appear.
import { Writable } from 'node:stream';

import { describe, expect, it } from '@jest/globals';

import { createLogger } from '../../src/observability/logger.js';
import { loggablePath } from '../../src/observability/request-logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, sink), lines };
}

describe('log redaction', () => {
  it('censors secret fields at the top level and nested one and two levels deep', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'pw-top',
        refresh_token: 'rt-top',
        client_secret: 'cs-top',
        req: { headers: { authorization: 'Bearer at-nested', cookie: '_session=sess-nested' } },
        body: { code: 'code-nested', access_token: 'at-body' },
        keep: 'visible-value',
      },
      'event',
    );
    const line = lines.join('');
    for (const secret of ['pw-top', 'rt-top', 'cs-top', 'at-nested', 'sess-nested', 'code-nested', 'at-body'])
      expect(line).not.toContain(secret);
    expect(line).toContain('[redacted]');
    expect(line).toContain('visible-value');
  });

  it('logs interaction paths without their ids', () => {
    expect(loggablePath('/interaction/AbC-123_x/login')).toBe('/interaction/:uid/login');
    expect(loggablePath('/auth/AbC-123_x')).toBe('/auth/:uid');
    expect(loggablePath('/token')).toBe('/token');
  });
});
