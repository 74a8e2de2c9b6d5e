// Hydra's admin API, as the benchmark calls it to set up (clients) and to play the login and consent application.
// Not on a measured path: plain fetch.

/** One admin API call with a JSON body; throws unless it answers 2xx, resolves with the JSON answer. */
export async function adminCall(
  base: string,
  method: 'POST' | 'PUT' | 'GET',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`hydra admin ${method} ${path.split('?')[0]}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}
