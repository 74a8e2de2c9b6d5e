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
      loadConfig({ PORT: 'abc', ACCESS_TOKEN_TTL_SECONDS: '-5', DATABASE_URL: 'mysql://x', RATE_LIMIT_ENABLED: 'maybe' });
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
    expect(() => loadConfig({ ...secret, ISSUER: 'http://auth.example.com' })).toThrow(/ISSUER: must use https in production/);
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
    expect(loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '0', RATE_LIMIT_ENABLED: 'false' })).toMatchObject({ refreshReuseGrace: 0, rateLimitEnabled: false });
  });

  it('turns tracing on only with an OTLP endpoint, and parses its variables (README "Tracing")', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' }).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces', headers: {}, serviceName: 'tollgate', scheduledDelayMs: 5000,
    });
    // A base path is kept (the OTLP specification appends v1/traces to it); the traces endpoint is used as given.
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/team/' }).tracing?.tracesUrl).toBe('https://otlp.example.com/team/v1/traces');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' }).tracing?.tracesUrl).toBe('http://b:4318/traces');
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' }).tracing?.tracesUrl).toBe('http://b:4318/traces');
    expect(loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'tollgate-eu', OTEL_BSP_SCHEDULE_DELAY: '250',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc%3D, x-team = core',
    }).tracing).toMatchObject({ serviceName: 'tollgate-eu', scheduledDelayMs: 250, headers: { authorization: 'Bearer abc=', 'x-team': 'core' } });
  });

  it('names the tracing variable at fault without echoing a header value', () => {
    let error: unknown;
    try {
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317', OTEL_EXPORTER_OTLP_HEADERS: 'api-key-without-equals-s3cret', OTEL_BSP_SCHEDULE_DELAY: '0' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['OTEL_BSP_SCHEDULE_DELAY', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS']);
    expect(problems.join('\n')).not.toContain('s3cret');
  });
});
