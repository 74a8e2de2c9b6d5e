// Delivers queued back-channel logouts (queue.ts, which holds the statements): every instance polls, each row is
// claimed by one instance at a time (a lease, FOR UPDATE SKIP LOCKED), and a failed delivery is retried with exponential backoff (1 s, 2 s, 4 s,
// ... at most an hour apart) until BACKCHANNEL_LOGOUT_MAX_ATTEMPTS. A delivery, and a final failure, removes the row
// and writes its audit event in the same statement.
import type { PrismaClient } from '../db/generated/client.js';
import type { Logger } from '../observability/logger.js';
import { claimLogouts, removeLogout, rescheduleLogout, type ClaimedLogout as Claimed } from './queue.js';

export type Deliver = (clientId: string, accountId: string, sid: string | null) => Promise<void>;

export interface BackchannelWorkerDeps {
  prisma: PrismaClient;
  logger: Logger;
  deliver: Deliver;
  maxAttempts: number;
  /** How often the queue is looked at (ms). */
  pollMs?: number;
}

const BATCH = 20;
const LEASE_SECONDS = 30; // longer than a delivery can take (oidc-provider aborts requests after 2.5 s)
const MAX_DELAY_SECONDS = 3600;

export const retryDelaySeconds = (attempts: number) => Math.min(MAX_DELAY_SECONDS, 2 ** Math.max(0, attempts - 1));

export interface BackchannelWorker {
  start(): void;
  stop(): Promise<void>;
  /** Looks at the queue now (after an enqueue in this process). */
  wake(): void;
}

export function createBackchannelWorker({
  prisma,
  logger,
  deliver,
  maxAttempts,
  pollMs = 1000,
}: BackchannelWorkerDeps): BackchannelWorker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = true;

  const claim = () => claimLogouts(prisma, BATCH, LEASE_SECONDS);

  async function delivered(row: Claimed) {
    const detail = { reason: row.reason, attempts: row.attempts + 1 };
    await removeLogout(prisma, row.id, { type: 'backchannel_logout.delivered', outcome: 'success', detail });
    logger.info(
      {
        audit: {
          type: 'backchannel_logout.delivered',
          clientId: row.client_id,
          accountId: row.account_id,
          detail,
        },
      },
      'audit backchannel_logout.delivered',
    );
  }

  async function failed(row: Claimed, err: unknown) {
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 300);
    const attempts = row.attempts + 1;
    if (attempts < maxAttempts) {
      await rescheduleLogout(prisma, row.id, attempts, message, retryDelaySeconds(attempts));
      logger.warn({ clientId: row.client_id, attempts, error: message }, 'back-channel logout failed; will retry');
      return;
    }
    const detail = { reason: row.reason, attempts, error: message };
    await removeLogout(prisma, row.id, { type: 'backchannel_logout.failed', outcome: 'failure', detail });
    logger.warn(
      {
        audit: {
          type: 'backchannel_logout.failed',
          clientId: row.client_id,
          accountId: row.account_id,
          detail,
        },
      },
      'audit backchannel_logout.failed',
    );
  }

  async function runOnce() {
    for (;;) {
      const rows = await claim();
      await Promise.all(
        rows.map((row) =>
          deliver(row.client_id, row.account_id, row.sid).then(
            () => delivered(row),
            (err) => failed(row, err),
          ),
        ),
      );
      if (rows.length < BATCH) return;
    }
  }

  function tick() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = runOnce()
      .catch((err) => logger.warn({ err }, 'back-channel logout queue unavailable; will retry'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          tick();
        }
      });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      timer = setInterval(tick, pollMs);
      timer.unref();
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
    wake: tick,
  };
}
