// Kubernetes probes on the inference listener: `/livez` (the process answers HTTP) and `/readyz`
// (started, not stopping, and healthy as /ping counts it). They need no token: they reveal
// nothing but up or ready.
import type { Route } from './route-table.js';
import { sendStatus } from './respond.js';

export interface HealthRouteDeps {
  /** True when the server should receive traffic. */
  readonly isReady: () => boolean;
}

/** The probe paths, answered until the process exits (HttpEdgeOptions.probePaths). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz']);

export function healthRoutes(deps: HealthRouteDeps): Route[] {
  return [
    {
      api: 'inference',
      path: '/livez',
      scope: 'public',
      operations: { GET: { summary: 'Liveness probe (no token needed)', handler: (ex) => sendStatus(ex.res, ex.ctx, 200, 'Alive') } },
    },
    {
      api: 'inference',
      path: '/readyz',
      scope: 'public',
      operations: {
        GET: {
          summary: 'Readiness probe (no token needed)',
          handler: (ex) => {
            const ready = deps.isReady();
            sendStatus(ex.res, ex.ctx, ready ? 200 : 503, ready ? 'Ready' : 'Not Ready');
          },
        },
      },
    },
  ];
}
