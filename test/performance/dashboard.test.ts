// The Grafana dashboard and the alert rules only use metrics the server exports.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from '@jest/globals';

import { SIGNALS } from '../../src/anomalies/detector.js';
import { createMetrics } from '../../src/observability/metrics.js';

const exported = async () => {
  const metrics = createMetrics({ anomalySignals: SIGNALS });
  const text = await metrics.registry.metrics();
  return new Set(
    [...text.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!],
    ),
  );
};

const referenced = (text: string) => new Set([...text.matchAll(/\btollgate_[a-z0-9_]+/g)].map((m) => m[0]));

describe('dashboard and alerts', () => {
  it('reference only exported metrics', async () => {
    const names = await exported();
    const dashboard = readFileSync(new URL('../../observability/grafana-dashboard.json', import.meta.url), 'utf8');
    const alerts = readFileSync(new URL('../../observability/prometheus-alerts.yml', import.meta.url), 'utf8');
    expect(JSON.parse(dashboard).panels.length).toBeGreaterThan(5);
    for (const name of [...referenced(dashboard), ...referenced(alerts)])
      expect({ name, exported: names.has(name) }).toEqual({ name, exported: true });
    expect(alerts).toContain('outcome="reuse_detected"');
  });

  it('watch the refresh anomaly signals: an alert on impossible travel, a panel per signal', () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../observability/grafana-dashboard.json', import.meta.url), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const alerts = readFileSync(new URL('../../observability/prometheus-alerts.yml', import.meta.url), 'utf8');
    expect(alerts).toContain('tollgate_refresh_anomalies_total{signal="impossible_travel"}');
    const panel = dashboard.panels.find((p) =>
      p.targets.some((t) => t.expr.includes('tollgate_refresh_anomalies_total')),
    );
    expect(panel?.targets[0]?.expr).toBe('sum by (signal) (increase(tollgate_refresh_anomalies_total[1h]))');
  });
});
