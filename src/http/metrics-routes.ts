// The metrics listener's one route (spec §10.1): any method on a path starting with /metrics
// answers the Prometheus text, filtered by repeated `name[]` parameters. No token is asked.
import { sendBytes } from './respond.js';
import type { Route } from './route-table.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface MetricsRouteDeps {
  /** The exposition text; `names` empty means every metric. */
  render(names: readonly string[]): string;
}

export function metricsRoutes(deps: MetricsRouteDeps): Route[] {
  return [
    {
      api: 'metrics',
      path: '/metrics',
      openEnded: true,
      scope: 'public',
      operations: {
        ANY: {
          summary: 'Metrics in Prometheus text format 0.0.4',
          query: [{ name: 'name[]', type: 'string', description: 'Only these metrics (repeatable); every metric when absent' }],
          handler: (ex) => {
            sendBytes(ex.res, ex.ctx, 200, deps.render(ex.query.getAll('name[]')), PROMETHEUS_CONTENT_TYPE);
          },
        },
      },
    },
  ];
}
