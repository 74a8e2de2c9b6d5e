// The sign-in burst benchmark (npm run bench:login-burst): while one address sends a burst of wrong sign-ins, how
// long does a legitimate sign-in from another address take? Tollgate runs as `npm start` runs it (src/main.ts, a
// child process, real PostgreSQL and Redis, rate limits on, behind TRUST_PROXY so that X-Forwarded-For sets each
// request's address). Each round: a legitimate sign-in alone (the baseline), then the burst and, while it is in
// flight, a legitimate sign-in from another address. Prints one JSON document.
//   --burst N        wrong sign-ins in the burst (150)
//   --rounds N       rounds, each with fresh addresses (5)
//   --rate-limits off  the same with RATE_LIMIT_ENABLED=false: what the bounded queue alone does
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

import { Browser, pkce } from '../test/support/browser.js';
import { startTollgate } from './tollgate.js';
import type { Target } from './target.js';

const { values } = parseArgs({
  options: {
    burst: { type: 'string', default: '150' },
    rounds: { type: 'string', default: '5' },
    'rate-limits': { type: 'string', default: 'on' },
  },
});
const BURST = Number(values.burst);
const ROUNDS = Number(values.rounds);
const RATE_LIMITS = values['rate-limits'] !== 'off';

// The burst is sent from a worker thread: its requests and responses are handled on an event loop of their own, so
// the legitimate sign-in's time is the server's, not the time this process takes to read 150 responses.
const BURST_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { requests } = workerData;
Promise.all(requests.map(async ({ url, cookie, body, address }) => {
  const res = await fetch(url, { method: 'POST', redirect: 'manual', body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, 'x-forwarded-for': address, accept: 'text/html' } });
  await res.arrayBuffer();
  return res.status;
})).then((statuses) => parentPort.postMessage(statuses), (err) => parentPort.postMessage({ error: String(err) }));
`;

function sendBurst(requests: { url: string; cookie: string; body: string; address: string }[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BURST_WORKER, { eval: true, workerData: { requests } });
    worker.once('message', (message: number[] | { error: string }) => {
      void worker.terminate();
      if (Array.isArray(message)) resolve(message);
      else reject(new Error(message.error));
    });
    worker.once('error', reject);
  });
}

/** Opens a login page in a new browser; the returned function posts it from `address`. */
async function loginPage(target: Target) {
  const browser = new Browser(target.url);
  const params = new URLSearchParams({
    client_id: target.codeClient.client_id,
    response_type: 'code',
    redirect_uri: target.codeClient.redirect_uri,
    scope: 'openid',
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    state: randomBytes(6).toString('hex'),
  });
  const start = await browser.follow(await browser.get(`${target.url}/auth?${params}`));
  const action = /<form[^>]*action="([^"]*)"/.exec(await start.res.text())?.[1]?.replace(/&amp;/g, '&');
  if (!action) throw new Error(`no login form at ${start.url}`);
  const url = new URL(action, start.url).toString();
  const post = async (address: string, username: string, password: string) => {
    const res = await browser.postForm(url, { username, password }, { headers: { 'x-forwarded-for': address } });
    await res.arrayBuffer();
    return res.status;
  };
  /** The same post as a plain request, for the burst worker. */
  const request = (address: string, username: string, password: string) => ({
    url,
    address,
    cookie: browser.cookieHeader(new URL(url).pathname),
    body: new URLSearchParams({ ...(browser.hiddenFields.get(url) ?? {}), username, password }).toString(),
  });
  return Object.assign(post, { request });
}

async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round1 = (x: number) => Math.round(x * 10) / 10;

async function main() {
  const target = await startTollgate({
    env: { RATE_LIMIT_ENABLED: RATE_LIMITS ? 'true' : 'false', TRUST_PROXY: 'true' },
  });
  const rounds: Record<string, unknown>[] = [];
  try {
    const { username, password } = target.user;
    for (let r = 0; r < ROUNDS; r++) {
      const attacker = `198.51.100.${r + 1}`;
      // Every page is opened first: the burst and the sign-ins measure the POST only.
      const [baselinePage, legitPage, attackPages] = await Promise.all([
        loginPage(target),
        loginPage(target),
        Promise.all(Array.from({ length: 10 }, () => loginPage(target))),
      ]);
      const baseline = await timed(() => baselinePage(`203.0.113.${r + 1}`, username, password));
      const burst = timed(() =>
        sendBurst(
          Array.from({ length: BURST }, (_, i) =>
            attackPages[i % 10]!.request(attacker, `guess-${i}`, 'wrong-password'),
          ),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 50)); // the burst is on the wire and being served
      const legit = await timed(() => legitPage(`203.0.113.${100 + r}`, username, password));
      const attack = await burst;
      const statuses: Record<string, number> = {};
      for (const s of attack.value) statuses[s] = (statuses[s] ?? 0) + 1;
      if (baseline.value !== 303 || legit.value !== 303)
        throw new Error(`a legitimate sign-in failed: ${baseline.value} / ${legit.value}`);
      rounds.push({
        baseline_ms: round1(baseline.ms),
        during_burst_ms: round1(legit.ms),
        burst_ms: round1(attack.ms),
        burst_statuses: statuses,
      });
    }
  } finally {
    await target.stop();
  }
  const during = rounds.map((r) => r.during_burst_ms as number);
  console.log(
    JSON.stringify(
      {
        burst: BURST,
        rounds: ROUNDS,
        rate_limits: RATE_LIMITS,
        legit_sign_in_during_burst_ms: { median: median(during), max: Math.max(...during) },
        legit_sign_in_alone_ms: { median: median(rounds.map((r) => r.baseline_ms as number)) },
        goal: 'legitimate sign-in under 500 ms while the burst runs',
        met: Math.max(...during) < 500,
        per_round: rounds,
      },
      null,
      2,
    ),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
