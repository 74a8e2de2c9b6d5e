// The report's section on the durable peer (`--peer hydra`): the peer's figures per operation, Tollgate/peer beside
// Tollgate/bare, the per-round ratios, which algorithm signed what on each server, the peer's memory and the goal
// (Tollgate ≥ 1.0× Hydra on refresh). Ratios are taken as for bare: the median of per-round ratios, each between
// phases that ran back to back. A skipped peer gets a section too, saying why, so a report never silently lacks it.
import { median } from './load.js';
import type { ComparedOperation } from './options.js';
import type { Prepared } from './prepare.js';
import { fixed, otherLoad, peakKiB, rateOf, row, type Row } from './report.js';
import type { RssSummary } from './rss.js';
import type { Sample } from './rounds.js';
import type { ServerName } from './target.js';

export interface PeerFacts {
  /** What the section is titled by, e.g. "Ory Hydra v2.3.0". */
  title: string;
  server: ServerName;
  /** How the tables name it, e.g. "Hydra". */
  label: string;
  samples: Sample[];
  /** The signing algorithms each server used, read off its tokens. */
  algorithms: Partial<Record<ServerName, Prepared['algorithms']>>;
  rss: RssSummary;
}

export type PeerOutcome = PeerFacts | { title: string; skipped: string };

export interface PeerComparison {
  operation: ComparedOperation;
  peer: Row;
  /** Median over rounds of Tollgate's requests/s over the peer's. */
  ratio: number;
  /** The peer's CPU per request over Tollgate's. */
  cpuRatio: number;
  /** Median over rounds of Tollgate's requests/s over bare's (as in the main table), to read beside `ratio`. */
  bareRatio: number;
}

const ORDER: ComparedOperation[] = ['refresh', 'client_credentials', 'introspection'];

/** Median over rounds of a's requests/s over b's, pairing the phases of the same round. */
function roundRatio(a: Sample[], b: Sample[]): number {
  return median(
    a.flatMap((s) => {
      const other = b.find((o) => o.round === s.round);
      return other ? [rateOf(s.result) / rateOf(other.result)] : [];
    }),
  );
}

export function comparePeer(samples: Sample[], peer: ServerName): PeerComparison[] {
  const of = (operation: ComparedOperation, server: ServerName) =>
    samples.filter((s) => s.operation === operation && s.server === server);
  return ORDER.filter((op) => of(op, peer).length > 0).map((operation) => {
    const p = of(operation, peer);
    const t = of(operation, 'tollgate');
    const peerRow = row(p);
    return {
      operation,
      peer: peerRow,
      ratio: roundRatio(t, p),
      cpuRatio: peerRow.cpuMsPerRequest / row(t).cpuMsPerRequest,
      bareRatio: roundRatio(t, of(operation, 'bare')),
    };
  });
}

export function renderPeerReport(outcome: PeerOutcome, rounds: number): string {
  const lines = [`### Durable peer: ${outcome.title}`, ''];
  if ('skipped' in outcome) {
    lines.push(`Skipped: ${outcome.skipped}`);
    return lines.join('\n');
  }
  const { server, label, samples } = outcome;
  const comparisons = comparePeer(samples, server);
  lines.push(
    `| operation | ${label} req/s (median of ${rounds}) | p50 ms | p99 ms | errors | ${label} CPU ms/req | Tollgate/${label} req/s | ${label}/Tollgate CPU | Tollgate/bare req/s |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const c of comparisons) {
    const r = c.peer;
    lines.push(
      `| ${c.operation} | ${fixed(r.rate, 0)} | ${fixed(r.p50, 1)} | ${fixed(r.p99, 1)} | ${r.errors} | ${fixed(r.cpuMsPerRequest, 2)} | ${fixed(c.ratio, 2)} | ${fixed(c.cpuRatio, 2)} | ${fixed(c.bareRatio, 2)} |`,
    );
  }

  lines.push(
    '',
    `| round | operation | ${label} req/s | Tollgate req/s | Tollgate/${label} | other load, ${label} phase |`,
    '|---:|---|---:|---:|---:|---:|',
  );
  for (let round = 1; round <= rounds; round++) {
    for (const c of comparisons) {
      const at = (name: ServerName) =>
        samples.find((s) => s.round === round && s.operation === c.operation && s.server === name);
      const p = at(server);
      const t = at('tollgate');
      if (!p || !t) continue;
      lines.push(
        `| ${round} | ${c.operation} | ${fixed(rateOf(p.result), 0)} | ${fixed(rateOf(t.result), 0)} | ${fixed(rateOf(t.result) / rateOf(p.result), 2)} | ${fixed(otherLoad(p), 2)} cores |`,
      );
    }
  }

  lines.push(
    '',
    "Signing, read off the tokens of each server's code flows:",
    '',
    '| server | ID token | access token |',
    '|---|---|---|',
  );
  for (const [name, algorithms] of Object.entries(outcome.algorithms)) {
    lines.push(`| ${name} | ${algorithms.idToken} | ${algorithms.accessToken} |`);
  }

  const rss = outcome.rss;
  lines.push(
    '',
    `Peak RSS, ${label}: ${fixed(peakKiB(rss) / 1024, 0)} MiB (largest of ${rss.samples} samples: ${fixed(rss.peakSampledKiB / 1024, 0)} MiB; VmHWM: ${fixed(rss.highWaterKiB / 1024, 0)} MiB)`,
  );

  const refresh = comparisons.find((c) => c.operation === 'refresh');
  const goal = `refresh throughput Tollgate/${label} ≥ 1.0`;
  const peerErrors = comparisons.reduce((n, c) => n + c.peer.errors, 0);
  lines.push(
    '',
    'Goals:',
    '',
    refresh
      ? `- ${refresh.ratio >= 1 ? 'met' : 'MISSED'}: ${goal}: ${fixed(refresh.ratio, 2)}`
      : `- not measured here: ${goal}: operation not run (--operations)`,
    '',
    `Errors on ${label}: ${peerErrors} (its req/s count successes only).`,
  );
  return lines.join('\n');
}
