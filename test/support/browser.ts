// A minimal browser for flow tests: keeps cookies (with their paths), follows nothing on its own, and drives the
// real login and consent pages the way a person with a plain HTML browser would: a form it was served is submitted
// with its hidden fields (the CSRF token) as well as the fields the test fills in.
import { createHash, randomBytes } from 'node:crypto';

interface Cookie {
  value: string;
  path: string;
}

export interface PostOptions {
  /** Extra request headers (e.g. a foreign Origin). */
  headers?: Record<string, string>;
  /** Leave out the hidden fields of the page the form came from (default: send them, as a browser does). */
  withoutHidden?: boolean;
}

export class Browser {
  readonly cookies = new Map<string, Cookie>();
  /** Hidden fields of the forms on pages this browser was served, by absolute action URL. */
  readonly hiddenFields = new Map<string, Record<string, string>>();

  constructor(readonly base: string) {}

  cookieHeader(path: string): string {
    return [...this.cookies]
      .filter(([, c]) => path.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  #remember(res: Response) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired =
        attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()) ||
        attrs.some((a) => /^max-age=0$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url, this.base);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(target.pathname);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html');
    const res = await fetch(target, { ...init, headers, redirect: 'manual' });
    this.#remember(res);
    if (/^text\/html/.test(res.headers.get('content-type') ?? ''))
      this.#rememberForms(target, await res.clone().text());
    return res;
  }

  #rememberForms(page: URL, html: string) {
    for (const form of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
      const action = /\baction="([^"]*)"/.exec(form[1]!)?.[1]?.replace(/&amp;/g, '&');
      if (action === undefined) continue;
      this.hiddenFields.set(new URL(action, page).toString(), hiddenInputs(form[2]!));
    }
  }

  get(url: string) {
    return this.request(url);
  }

  postForm(url: string, fields: Record<string, string>, options: PostOptions = {}) {
    const hidden = options.withoutHidden ? {} : (this.hiddenFields.get(new URL(url, this.base).toString()) ?? {});
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...options.headers },
      body: new URLSearchParams({ ...hidden, ...fields }).toString(),
    });
  }

  /** Follows redirects on this server; stops at a page (2xx/4xx) or at a redirect leaving the server. */
  async follow(res: Response): Promise<{ res: Response; url: string }> {
    let current = res;
    let url = res.url;
    for (let hops = 0; hops < 10 && current.status >= 300 && current.status < 400; hops++) {
      const location = new URL(current.headers.get('location')!, url);
      url = location.toString();
      if (location.origin !== new URL(this.base).origin) return { res: current, url };
      current = await this.get(url);
    }
    return { res: current, url };
  }
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const attribute = (tag: string, name: string) =>
  new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1]?.replace(/&amp;/g, '&');

/** The hidden inputs (name → value) in a piece of HTML. */
export function hiddenInputs(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [tag] of html.matchAll(/<input\b[^>]*>/g)) {
    const name = attribute(tag, 'name');
    if (attribute(tag, 'type') === 'hidden' && name) fields[name] = attribute(tag, 'value') ?? '';
  }
  return fields;
}

/** The action, method and the names of the fields a person fills in (not the hidden ones) of the first form on a page. */
export function parseForm(page: string) {
  const action = /<form[^>]*action="([^"]*)"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
  const method = /<form[^>]*method="([^"]*)"/.exec(page)?.[1];
  const inputs = [...page.matchAll(/<input\b[^>]*>/g)]
    .filter(([tag]) => attribute(tag, 'type') !== 'hidden')
    .map(([tag]) => attribute(tag, 'name'))
    .filter(Boolean);
  return { action, method, inputs };
}
