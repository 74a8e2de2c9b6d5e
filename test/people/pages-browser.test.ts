// Every page Tollgate renders, in chromium at 390 px wide (a phone), with an operator's brand set: the tour of
// scripts/page-tour.ts (the one `npm run screenshots` takes) checked page by page: nothing scrolls sideways, the
// brand's name (escaped), logo (allowed by the CSP, from its origin only) and colour are there, button text on a
// light brand colour is black, every text reaches 4.5:1 contrast, every field has a label, the page has a language,
// and the keyboard focus is visible. Rendering does not depend on the storage mode: the embedded default.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';

import { TOUR_PAGES, tourPages } from '../../scripts/page-tour.js';
import { CHROMIUM_PATH } from '../support/chromium.js';
import { linkIn, startSmtp, type TestSmtp } from '../support/mail.js';
import { startServer, type TestServer } from '../support/server.js';

const BRAND = 'Ada & Co <Photos>';
const YELLOW = '#ffd400'; // white text on it would be 1.5:1
const LOGO =
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="32"><rect width="64" height="32" fill="#ffd400"/></svg>';

/** What the page looks like to a checker, computed in the page (the test's TypeScript has no DOM types). */
const INSPECT = `(() => {
  const lum = (rgb) => { const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map((v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) { const bg = getComputedStyle(e).backgroundColor; if (!/rgba\\(.*, 0\\)$/.test(bg) && bg !== 'transparent') return bg; } return 'rgb(255, 255, 255)'; };
  const texts = [...document.querySelectorAll('body *')].filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) && el.getClientRects().length);
  const lowContrast = texts.map((el) => ({ text: el.textContent.trim().slice(0, 40), ratio: ratio(getComputedStyle(el).color, background(el)) })).filter((t) => t.ratio < 4.5);
  const unlabelled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter((el) => !el.labels || el.labels.length === 0).map((el) => el.name);
  const logo = document.querySelector('header img');
  const primary = document.querySelector('main button');
  return {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    lang: document.documentElement.lang,
    title: document.title,
    header: document.querySelector('header')?.textContent.trim(),
    logoLoaded: logo ? logo.complete && logo.naturalWidth > 0 : false,
    button: primary && !primary.previousElementSibling?.matches('button') ? { bg: getComputedStyle(primary).backgroundColor, color: getComputedStyle(primary).color } : null,
    lowContrast,
    unlabelled,
  };
})()`;

const FOCUS = `(() => { const el = document.activeElement; const s = getComputedStyle(el); return { tag: el.tagName, visible: el.matches(':focus-visible'), outline: s.outlineStyle, width: parseFloat(s.outlineWidth) }; })()`;

describe('every page at 390 px, branded (embedded)', () => {
  let server: TestServer;
  let smtp: TestSmtp;
  let logoServer: Server;
  let logoOrigin: string;
  let browser: Browser;

  beforeAll(async () => {
    logoServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(LOGO));
    await new Promise<void>((done) => logoServer.listen(0, '127.0.0.1', done));
    logoOrigin = `http://127.0.0.1:${(logoServer.address() as AddressInfo).port}`;
    smtp = await startSmtp();
    [server, browser] = await Promise.all([
      startServer('embedded', {
        SMTP_URL: smtp.url,
        BRAND_NAME: BRAND,
        BRAND_PRIMARY_COLOR: YELLOW,
        BRAND_LOGO_URL: `${logoOrigin}/logo.svg`,
      }),
      chromium.launch({
        executablePath: CHROMIUM_PATH,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
    await new Promise((done) => logoServer?.close(done));
  });

  it('shows each page without sideways scrolling, with the brand, labels, language, contrast and a visible focus', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const violations: string[] = [];
    const csps = new Set<string>();
    context.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    context.on('response', (r) => {
      const csp = r.headers()['content-security-policy'];
      if (csp && r.url().startsWith(server.config.issuer)) csps.add(csp);
    });
    const seen: string[] = [];
    const mailLink = async (to: string, path: string) => linkIn(await smtp.nextTo(to), path);
    await tourPages(
      context,
      { url: server.config.issuer, prisma: server.db.prisma, hash: server.hash, mailLink },
      async (name, page) => {
        seen.push(name);
        const found = (await page.evaluate(INSPECT)) as Record<string, any>;
        const report = { page: name, ...found };
        expect(report).toMatchObject({
          page: name,
          overflow: 0,
          lang: 'en',
          header: BRAND,
          logoLoaded: true,
          lowContrast: [],
          unlabelled: [],
        });
        expect(found.title).toMatch(new RegExp(`· ${BRAND.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
        if (found.button)
          expect({ page: name, ...found.button }).toEqual({
            page: name,
            bg: 'rgb(255, 212, 0)',
            color: 'rgb(0, 0, 0)',
          });
        // Where the keyboard reaches something (pages that only inform have nothing to reach), it shows where it is.
        await page.keyboard.press('Tab');
        const focus = (await page.evaluate(FOCUS)) as { tag: string; visible: boolean; outline: string; width: number };
        if (focus.tag !== 'BODY') {
          expect({ page: name, ...focus }).toMatchObject({ page: name, visible: true, outline: 'solid' });
          expect(focus.width).toBeGreaterThanOrEqual(2);
        }
      },
    );
    expect(seen).toEqual([...TOUR_PAGES]);
    expect(violations).toEqual([]);
    // Images from this server and the logo's origin only.
    for (const csp of csps) expect(csp).toContain(`img-src 'self' ${logoOrigin};`);
    await context.close();
  });

  it('escapes the brand name in the page', async () => {
    const page = await (await fetch(`${server.url}/account/login`)).text();
    expect(page).toContain('<span>Ada &amp; Co &lt;Photos&gt;</span>');
    expect(page).not.toContain(BRAND);
  });
});
