// Liveness and readiness. /readyz answers 200 only when the database and the store both answer, each probe
// bounded so that the probe itself cannot hang on a dead dependency.
import Router from '@koa/router';

export interface Probe {
  name: string;
  check(): Promise<void>;
}

const within = (ms: number, p: Promise<void>) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

export function createHealthRouter(probes: Probe[], isDraining: () => boolean = () => false, timeoutMs = 1500): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    if (isDraining()) {
      ctx.set('Cache-Control', 'no-store');
      ctx.status = 503;
      ctx.body = { status: 'draining' };
      return;
    }
    const results = await Promise.all(
      probes.map(
        async (p) =>
          [
            p.name,
            await within(timeoutMs, p.check()).then(
              () => 'ok',
              () => 'unavailable',
            ),
          ] as const,
      ),
    );
    const ready = results.every(([, state]) => state === 'ok');
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) };
  });
  return router;
}
