// Walking the sign-in pages from any starting URL (an authorization request built by openid-client, the device
// page): the login form gets the user's credentials, the consent form a decision, until the flow leaves the pages.
import { Browser, parseForm } from './browser.js';
import type { User } from './oauth.js';

export interface Walked {
  res: Response;
  url: string;
  /** Every page seen, in order (HTML), for assertions about what was shown. */
  pages: string[];
}

/** Answers login and consent forms, starting from `res`, until a response that is not a form page. */
export async function answerPages(
  browser: Browser,
  start: { res: Response; url: string },
  user: User,
  decision: 'allow' | 'deny' = 'allow',
): Promise<Walked> {
  let { res, url } = start;
  const pages: string[] = [];
  for (let step = 0; step < 4 && res.status === 200; step++) {
    const page = await res.text();
    pages.push(page);
    const form = parseForm(page);
    if (!form.action || !(form.inputs.includes('password') || /name="decision"/.test(page))) {
      return { res: new Response(page, { status: 200, headers: res.headers }), url, pages };
    }
    const fields: Record<string, string> = form.inputs.includes('password')
      ? { username: user.username, password: user.password }
      : { decision };
    ({ res, url } = await browser.follow(await browser.postForm(new URL(form.action, url).toString(), fields)));
  }
  return { res, url, pages };
}

/** Opens `url` in `browser` and signs in and consents: where the flow ends (a redirect off the server, or a page). */
export async function signInAt(
  browser: Browser,
  url: string,
  user: User,
  decision: 'allow' | 'deny' = 'allow',
): Promise<Walked> {
  return answerPages(browser, await browser.follow(await browser.get(url)), user, decision);
}
