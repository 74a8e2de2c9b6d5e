// SIGTERM / SIGINT to the npm process (`npm start`, `npm run start:prod`), as a process manager sends it: /readyz
// answers 503 at once, a request in flight is answered, idle keep-alive sockets are closed, the port closes and the
// process exits 0 within SHUTDOWN_TIMEOUT_SECONDS.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { startServerProcess, stopAllProcesses, type ServerProcess } from '../support/process.js';

/** A raw connection, so the test decides exactly when each byte of a request is sent. */
class RawConnection {
  received = '';
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8').on('data', (chunk: string) => (this.received += chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }
  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }
  send(text: string) {
    this.socket.write(text);
  }
  /** Resolves with the first complete response (head and Content-Length body). */
  async response(): Promise<{ status: number; headers: string; body: string }> {
    for (let i = 0; i < 400; i++) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.received.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        const body = this.received.slice(end + 4);
        if (body.length >= length)
          return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: body.slice(0, length) };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no complete response; received: ${this.received}`);
  }
}

const waitFor = async (what: string, check: () => boolean, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const portRefuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

/** Drives one graceful stop of a running server process with `signal` and checks every promise of it. */
async function stopGracefully(server: ServerProcess, signal: NodeJS.Signals) {
  // An idle keep-alive connection: one answered request, socket left open.
  const idle = await RawConnection.open(server.port);
  idle.send('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  expect((await idle.response()).status).toBe(200);
  // A request in flight: headers and half of its body sent.
  const body = 'grant_type=client_credentials&client_id=nobody&client_secret=wrong-but-long-enough';
  const inFlight = await RawConnection.open(server.port);
  inFlight.send(
    `POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  // A probe already begun (its request line sent, the rest after the signal): what a load balancer sees.
  const probe = await RawConnection.open(server.port);
  probe.send('GET /readyz HTTP/1.1\r\n');
  await new Promise((r) => setTimeout(r, 200)); // let the server read what was sent

  const started = Date.now();
  const exit = server.stop(30_000, signal);
  await waitFor('the "shutting down" log line', () => server.logs.some((l) => l.includes('"shutting down"'))).catch(
    (err: Error) => {
      throw new Error(`${err.message}\nstdout: ${server.logs.join('\n')}\nstderr: ${server.stderr()}`);
    },
  );

  await idle.closed; // idle keep-alive sockets are closed by the server
  probe.send('Host: localhost\r\n\r\n');
  const ready = await probe.response();
  expect(ready.status).toBe(503);
  expect(JSON.parse(ready.body)).toEqual({ status: 'draining' });
  expect(ready.headers).toContain('connection: close');
  expect(await portRefuses(server.port)).toBe(true); // no new connections

  inFlight.send(body.slice(10));
  const answered = await inFlight.response();
  expect(answered.status).toBe(401); // answered (an unknown client), not dropped
  expect(JSON.parse(answered.body)).toMatchObject({ error: 'invalid_client' });
  expect(answered.headers).toContain('connection: close');
  await inFlight.closed;

  expect(await exit).toEqual({ code: 0, signal: null });
  expect(Date.now() - started).toBeLessThan(5_000); // within SHUTDOWN_TIMEOUT_SECONDS=5
  expect(server.logs.some((l) => l.includes('"stopped"'))).toBe(true);
}

describe('graceful stop through npm', () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'tg-stop-'));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await rm(base, { recursive: true, force: true });
  });

  it('SIGTERM to `npm start`: readyz 503, in-flight answered, keep-alive closed, port closed, exit 0', async () => {
    const server = await startServerProcess(
      { DATA_DIR: join(base, 'start'), SHUTDOWN_TIMEOUT_SECONDS: '5' },
      { npmScript: 'start', timeoutMs: 60_000 },
    );
    await stopGracefully(server, 'SIGTERM');
  });

  it('SIGINT to `npm run start:prod` (the compiled build the image runs) does the same', async () => {
    const server = await startServerProcess(
      { DATA_DIR: join(base, 'prod'), SHUTDOWN_TIMEOUT_SECONDS: '5' },
      { npmScript: 'start:prod', timeoutMs: 170_000 },
    );
    await stopGracefully(server, 'SIGINT');
  }, 200_000);

  it('a request that does not finish is cut at the deadline and the exit is still 0 within the timeout', async () => {
    const server = await startServerProcess(
      { DATA_DIR: join(base, 'stuck'), SHUTDOWN_TIMEOUT_SECONDS: '2' },
      { npmScript: 'start', timeoutMs: 60_000 },
    );
    const stuck = await RawConnection.open(server.port);
    stuck.send(
      'POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant',
    );
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    const exit = await server.stop(30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(2_500);
    await stuck.closed;
  });
});
