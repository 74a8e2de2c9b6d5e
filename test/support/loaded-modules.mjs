// Preloaded into a server child process (NODE_OPTIONS=--import=<this file>) by test/operations/tracing.test.ts:
// records every module the process loads into $LOADED_MODULES_DIR/<pid>.json when it exits. ES modules (and
// CommonJS ones imported from them) are seen by a resolve hook; modules reached by require() by require.cache.
// Plain JavaScript: it runs before tsx is there to compile anything.
import { writeFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';

const dir = process.env.LOADED_MODULES_DIR;
if (dir) {
  const seen = new Set();
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url) => seen.add(url));
  port1.unref();
  // Loader hooks run on a thread of their own: each resolved URL is posted back here.
  const hooks = `
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      port.postMessage(resolved.url);
      return resolved;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, import.meta.url, {
    data: { port: port2 },
    transferList: [port2],
  });
  const require = createRequire(import.meta.url);
  process.on('exit', () => {
    const modules = [...seen, ...Object.keys(require.cache)];
    writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(modules));
  });
}
