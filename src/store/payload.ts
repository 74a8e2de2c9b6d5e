// What an oidc-provider payload looks like at rest. The raw identifier is the bearer value of opaque tokens,
// codes and session cookies, so it is never written: payloads are stored without `jti` and keyed by the hash of
// the identifier; `find(id)` restores `jti` from the id the caller presented.
export type Payload = Record<string, unknown> & {
  jti?: string;
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
  exp?: number;
};

export function toStored(payload: Payload): Payload {
  const { jti: _jti, ...rest } = payload;
  return rest;
}

export function fromStored(stored: Payload, id: string | undefined, consumedAt: number | null): Payload {
  const payload: Payload = { ...stored };
  if (id !== undefined) payload.jti = id;
  if (consumedAt) payload.consumed = consumedAt;
  return payload;
}

export const epochNow = () => Math.floor(Date.now() / 1000);
