// What a request tells about the device behind it, as recorded on families and audit events. One place, so the
// bound on the (client-chosen) user agent is the same everywhere.
const MAX_USER_AGENT = 512;

export interface Device {
  ip: string | null;
  userAgent: string | null;
}

export function deviceOf(ctx: { ip?: string; get(field: string): string } | undefined): Device {
  if (!ctx) return { ip: null, userAgent: null };
  return { ip: ctx.ip || null, userAgent: ctx.get('user-agent').slice(0, MAX_USER_AGENT) || null };
}
