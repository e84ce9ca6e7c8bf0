// The browser console (docs/console.md) on the management listener: its static files under
// /console/ need no key and carry no data; its data comes from /console/api/*, guarded by the
// management key like the rest of the management API.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { badRequest, resourceNotFound } from '../errors.js';
import type { LogTail } from '../logging/log-tail.js';
import type { ConsoleView } from '../services/console-view.js';
import { intParam } from './query-params.js';
import { sendBytes, sendJson, setCommonHeaders } from './respond.js';
import type { Exchange, QueryParam, Route } from './route-table.js';

/** Where `npm run build` puts the console's files (scripts/build-console.mjs). */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../console/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Nothing but this page's own files; no framing, no referrer, no sniffing. */
const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
];

/** Log lines handed out per request at most. */
const LOG_LINES_PER_READ = 500;
/** A log filter longer than this is refused as too long to be a filter. */
const MAX_FILTER_CHARS = 200;

interface Asset {
  readonly bytes: Buffer;
  readonly contentType: string;
}

export interface ConsoleRouteDeps {
  readonly view: ConsoleView;
  readonly tail: LogTail;
  readonly assetsDir?: string;
}

/** The console's files, read once on first use; a name not among them is a 404. */
function assetLoader(dir: string): () => Promise<ReadonlyMap<string, Asset>> {
  let loaded: Promise<ReadonlyMap<string, Asset>> | null = null;
  const load = async (): Promise<ReadonlyMap<string, Asset>> => {
    const assets = new Map<string, Asset>();
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const contentType = CONTENT_TYPES[path.extname(name)];
      if (contentType !== undefined) assets.set(name, { bytes: await readFile(path.join(dir, name)), contentType });
    }
    return assets;
  };
  return () => (loaded ??= load());
}

export function consoleRoutes(deps: ConsoleRouteDeps): Route[] {
  const assets = assetLoader(deps.assetsDir ?? CONSOLE_ASSETS_DIR);

  const serveAsset = async (ex: Exchange): Promise<void> => {
    // Relative links need the trailing slash.
    if (new URL(ex.req.url ?? '/', 'http://localhost').pathname === '/console') {
      setCommonHeaders(ex.res, ex.ctx, 308);
      ex.res.setHeader('location', '/console/');
      ex.res.statusCode = 308;
      ex.res.end();
      return;
    }
    const asset = (await assets()).get(ex.params.rest ?? 'index.html');
    if (asset === undefined) throw resourceNotFound();
    for (const [name, value] of SECURITY_HEADERS) ex.res.setHeader(name, value);
    sendBytes(ex.res, ex.ctx, 200, asset.bytes, asset.contentType);
  };

  const readLog = (ex: Exchange): void => {
    const filter = ex.query.get('filter') ?? '';
    if (filter.length > MAX_FILTER_CHARS) throw badRequest(`Parameter filter is longer than ${MAX_FILTER_CHARS} characters.`);
    const after = Math.max(0, intParam(ex.query, 'after') ?? 0);
    sendJson(ex.res, ex.ctx, 200, deps.tail.read({ after, filter, limit: LOG_LINES_PER_READ }));
  };

  const api = (name: string, summary: string, handler: (ex: Exchange) => Promise<void> | void, query: readonly QueryParam[] = []): Route => ({
    api: 'management',
    path: `/console/api/${name}`,
    operations: { GET: { summary, handler, query } },
  });

  return [
    api('server', 'The console: version, uptime, listeners, configuration (secrets masked), snapshot status', (ex) =>
      sendJson(ex.res, ex.ctx, 200, deps.view.server()),
    ),
    api('models', 'The console: every model version with its queue, workers and recent activity', async (ex) =>
      sendJson(ex.res, ex.ctx, 200, await deps.view.models()),
    ),
    api('store', 'The console: archive names in the model store', async (ex) => sendJson(ex.res, ex.ctx, 200, await deps.view.storeEntries())),
    api('logs', 'The console: the newest server log lines', readLog, [
      { name: 'after', type: 'integer', description: 'Only lines numbered above this (the `last` of a previous read)' },
      { name: 'filter', type: 'string', description: 'Only lines containing this text, ignoring case' },
    ]),
    {
      api: 'management',
      path: '/console',
      openEnded: true,
      scope: 'public',
      operations: {
        GET: { summary: 'The browser console (static files; no data)', handler: serveAsset },
      },
    },
  ];
}
