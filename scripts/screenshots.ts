// npm run screenshots: boots Tollgate on the embedded default (PGlite, in-process store, mails as .eml files in a
// temporary DATA_DIR), walks every page in chromium (scripts/page-tour.ts) at 1280 and 390 px wide and writes
// screenshots/<width>/<nn>-<page>.png (git-ignored). BRAND_NAME, BRAND_LOGO_URL and BRAND_PRIMARY_COLOR from the
// environment apply, so a brand can be previewed before it is deployed. CHROMIUM_PATH overrides /usr/bin/chromium.
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { simpleParser } from 'mailparser';
import { chromium } from 'playwright-core';

import { boot } from '../src/boot.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/observability/logger.js';
import { TOUR_PAGES, tourPages } from './page-tour.js';

const WIDTHS = [1280, 390];
const OUT = resolve('screenshots');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const freePort = () =>
  new Promise<number>((done, fail) => {
    const srv = createServer()
      .once('error', fail)
      .listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => done(port));
      });
  });

/** The outbox as a mailbox: the link to `path` in a mail to `to` not handed out before, waiting for it a while. */
function outboxLinks(outbox: string) {
  const used = new Set<string>();
  return async (to: string, path: string): Promise<string> => {
    for (let tries = 0; tries < 100; tries++) {
      for (const file of (await readdir(outbox).catch(() => [] as string[])).sort()) {
        if (used.has(file)) continue;
        const mail = await simpleParser(await readFile(join(outbox, file)));
        const link = new RegExp(`https?://\\S+${path}\\?token=[\\w-]+`).exec(mail.text ?? '')?.[0];
        if (link && mail.to && JSON.stringify(mail.to).includes(to)) {
          used.add(file);
          return link;
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail to ${to} with a ${path} link in ${outbox}`);
  };
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'tg-screenshots-'));
  const port = await freePort();
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: `http://127.0.0.1:${port}`,
    DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
    SMTP_URL: undefined,
    ADMIN_PORT: undefined,
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'warn',
  });
  const running = await boot(config, createLogger({ level: config.logLevel }));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const mailLink = outboxLinks(join(dataDir, 'outbox'));
  try {
    for (const width of WIDTHS) {
      const dir = join(OUT, String(width));
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const context = await browser.newContext({ viewport: { width, height: 900 }, deviceScaleFactor: 1 });
      await tourPages(
        context,
        { url: config.issuer, prisma: running.db.prisma, hash: running.hash, mailLink },
        async (name, page) => {
          const n = String(TOUR_PAGES.indexOf(name as (typeof TOUR_PAGES)[number]) + 1).padStart(2, '0');
          await page.screenshot({ path: join(dir, `${n}-${name}.png`), fullPage: true });
          const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
          console.log(`${width}px ${name}${overflow > 0 ? ` (scrolls sideways by ${overflow}px)` : ''}`);
        },
      );
      await context.close();
    }
    console.log(`screenshots in ${OUT}`);
  } finally {
    await browser.close();
    await running.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
