import { describe, expect, it } from '@jest/globals';

import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      issuer: 'http://localhost:3000',
      dataDir: './.data',
      databaseUrl: undefined,
      redisUrl: undefined,
      accessTokenTtl: 900,
      refreshIdleTtl: 1_209_600,
      refreshFamilyMaxTtl: 2_592_000,
      refreshReuseGrace: 10,
      rateLimitEnabled: true,
      logLevel: 'info',
      env: 'development',
      signingKeyAlg: 'ES256',
    });
  });

  it('reports every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'abc',
        ACCESS_TOKEN_TTL_SECONDS: '-5',
        DATABASE_URL: 'mysql://x',
        RATE_LIMIT_ENABLED: 'maybe',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).problems.map((p) => p.split(':')[0]).sort();
    expect(names).toEqual(['ACCESS_TOKEN_TTL_SECONDS', 'DATABASE_URL', 'PORT', 'RATE_LIMIT_ENABLED']);
  });

  it('requires TOLLGATE_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/TOLLGATE_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', TOLLGATE_SECRET: 'x'.repeat(32) }).secret).toBe('x'.repeat(32));
  });

  it('refuses an http issuer in production unless it is localhost', () => {
    const secret = { NODE_ENV: 'production', TOLLGATE_SECRET: 'x'.repeat(32) };
    expect(() => loadConfig({ ...secret, ISSUER: 'http://auth.example.com' })).toThrow(
      /ISSUER: must use https in production/,
    );
    expect(loadConfig({ ...secret, ISSUER: 'https://auth.example.com' }).issuer).toBe('https://auth.example.com');
    expect(loadConfig({ ...secret, ISSUER: 'http://localhost:3000' }).issuer).toBe('http://localhost:3000');
    expect(loadConfig({ ...secret }).issuer).toBe('http://localhost:3000');
    expect(loadConfig({ ISSUER: 'http://auth.example.com' }).issuer).toBe('http://auth.example.com'); // development
  });

  it('listens on every interface unless HOST names one', () => {
    expect(loadConfig({}).host).toBeUndefined();
    expect(loadConfig({ HOST: '127.0.0.1' }).host).toBe('127.0.0.1');
  });

  it('accepts 0 as a strict grace window and parses booleans', () => {
    expect(loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '0', RATE_LIMIT_ENABLED: 'false' })).toMatchObject({
      refreshReuseGrace: 0,
      rateLimitEnabled: false,
    });
  });

  it('turns tracing on only with an OTLP endpoint, and parses its variables (README "Tracing")', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' }).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      headers: {},
      serviceName: 'tollgate',
      scheduledDelayMs: 5000,
    });
    // A base path is kept (the OTLP specification appends v1/traces to it); the traces endpoint is used as given.
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/team/' }).tracing?.tracesUrl).toBe(
      'https://otlp.example.com/team/v1/traces',
    );
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces',
      }).tracing?.tracesUrl,
    ).toBe('http://b:4318/traces');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' }).tracing?.tracesUrl).toBe(
      'http://b:4318/traces',
    );
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SERVICE_NAME: 'tollgate-eu',
        OTEL_BSP_SCHEDULE_DELAY: '250',
        OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc%3D, x-team = core',
      }).tracing,
    ).toMatchObject({
      serviceName: 'tollgate-eu',
      scheduledDelayMs: 250,
      headers: { authorization: 'Bearer abc=', 'x-team': 'core' },
    });
  });

  it('names the tracing variable at fault without echoing a header value', () => {
    let error: unknown;
    try {
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key-without-equals-s3cret',
        OTEL_BSP_SCHEDULE_DELAY: '0',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'OTEL_BSP_SCHEDULE_DELAY',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
    ]);
    expect(problems.join('\n')).not.toContain('s3cret');
  });

  it('parses the brand: a #rrggbb colour, an https logo (http on loopback only), a name of plain text', () => {
    expect(loadConfig({}).brand).toEqual({ name: 'Tollgate', logoUrl: undefined, primaryColor: '#1d4ed8' });
    expect(
      loadConfig({
        BRAND_NAME: ' Ada & Co ',
        BRAND_PRIMARY_COLOR: '#FFD400',
        BRAND_LOGO_URL: 'https://cdn.example.com/logo.svg',
      }).brand,
    ).toEqual({ name: 'Ada & Co', logoUrl: 'https://cdn.example.com/logo.svg', primaryColor: '#ffd400' });
    expect(loadConfig({ BRAND_LOGO_URL: 'http://127.0.0.1:8080/logo.png' }).brand.logoUrl).toBe(
      'http://127.0.0.1:8080/logo.png',
    );
    let error: unknown;
    try {
      loadConfig({ BRAND_PRIMARY_COLOR: 'red', BRAND_LOGO_URL: 'http://cdn.example.com/logo.png', BRAND_NAME: 'a\nb' });
    } catch (err) {
      error = err;
    }
    expect((error as ConfigError).problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'BRAND_LOGO_URL',
      'BRAND_NAME',
      'BRAND_PRIMARY_COLOR',
    ]);
    expect(() => loadConfig({ BRAND_LOGO_URL: 'http://cdn.example.com/logo.png' })).toThrow(
      /BRAND_LOGO_URL: must be an https URL/,
    );
    expect(() => loadConfig({ BRAND_LOGO_URL: 'https://u:p@cdn.example.com/logo.png' })).toThrow(
      /BRAND_LOGO_URL: must not contain credentials/,
    );
    expect(() => loadConfig({ BRAND_LOGO_URL: 'javascript:alert(1)' })).toThrow(/BRAND_LOGO_URL/);
  });

  it('picks black or white button text on the brand colour by contrast, and a dark link colour for light brands', async () => {
    const { brandColors, contrast } = await import('../../views/theme.js');
    expect(brandColors('#1d4ed8')).toEqual({
      primary: '#1d4ed8',
      onPrimary: '#ffffff',
      accent: '#1d4ed8',
      edge: '#1d4ed8',
    });
    expect(brandColors('#ffd400')).toEqual({
      primary: '#ffd400',
      onPrimary: '#000000',
      accent: '#1b1b1b',
      edge: '#1b1b1b',
    });
    for (const c of ['#000000', '#ffffff', '#777777', '#ff0000', '#00ff00', '#0000ff', '#808080', '#ffd400']) {
      const { onPrimary, accent, edge } = brandColors(c);
      expect(contrast(c, onPrimary)).toBeGreaterThanOrEqual(4.5);
      expect(contrast(accent, '#ffffff')).toBeGreaterThanOrEqual(4.5);
      expect(contrast(edge, '#ffffff')).toBeGreaterThanOrEqual(3);
    }
  });

  it('runs one process unless WORKERS says more, and more only with DATABASE_URL and REDIS_URL', () => {
    const external = { DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:6379' };
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ ...external, WORKERS: '4' }).workers).toBe(4);
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1); // one worker is today's single process: embedded is fine
    for (const bad of ['0', '-1', '1.5', 'two', '65'])
      expect(() => loadConfig({ ...external, WORKERS: bad })).toThrow(/^invalid configuration:\n {2}- WORKERS: /);
    expect(() => loadConfig({ WORKERS: '2' })).toThrow(
      'WORKERS: more than 1 needs DATABASE_URL and REDIS_URL (DATABASE_URL and REDIS_URL not set)',
    );
    expect(() => loadConfig({ WORKERS: '2', DATABASE_URL: external.DATABASE_URL })).toThrow('(REDIS_URL not set)');
    expect(() => loadConfig({ WORKERS: '2', REDIS_URL: external.REDIS_URL })).toThrow('(DATABASE_URL not set)');
  });
});
