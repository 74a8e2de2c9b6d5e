// Graceful stop of an HTTP listener. Order matters for a load balancer in front: /readyz turns 503 the moment
// draining starts (the caller reads `draining`), the listener stops accepting, idle keep-alive sockets close at once,
// responses still being produced finish with `Connection: close` so their sockets close too, and whatever is still
// open when the deadline comes is cut, so a stuck request cannot hold the process past SHUTDOWN_TIMEOUT_SECONDS.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface Drainer {
  readonly draining: boolean;
  /** Resolves once every connection is closed, or at `deadline` (epoch ms) after cutting the rest. */
  drain(deadline: number): Promise<void>;
}

export function drainable(server: Server): Drainer {
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    // A request arriving on a kept-alive socket after draining began is answered, then its socket closes.
    if (draining) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
  });

  return {
    get draining() {
      return draining;
    },
    drain(deadline) {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      return new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        // A response that finished before draining began left its socket idle: close those now and as they appear.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const cut = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
