// Lantern's browser console: reads the management API every 2 s with the management key as a
// Bearer header (never in a URL), and acts through the same API. No data is in these files.
/* global uPlot */

const POLL_MS = 2000;
const STORE_POLL_MS = 10000;
const KEY_ITEM = 'lantern.managementKey';
const LOG_LINES_SHOWN = 500;
/** Windows (of the server's 2 s) averaged for requests per second and error rate. */
const RATE_WINDOWS = 5;
const CHART_HEIGHT = 150;

const $ = (id) => document.getElementById(id);

/** A refused key: TorchServe's 400 InvalidKeyException. */
class KeyRefused extends Error {}

class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

function storedKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

async function api(method, path) {
  const headers = { Accept: 'application/json' };
  const key = storedKey();
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit' });
  const text = await res.text();
  let body = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = { message: text };
  }
  if (res.ok) return body;
  if (body !== null && body.type === 'InvalidKeyException') throw new KeyRefused(body.message);
  throw new ApiError(res.status, body?.type ?? 'Error', body?.message ?? `${res.status} ${res.statusText}`);
}

// ---- formatting ----

const fmtMs = (ms) => (ms === null || ms === undefined ? '–' : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);
const fmtBytes = (b) => (b > 0 ? `${(b / 1048576).toFixed(1)} MB` : '–');
function fmtUptime(sec) {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

/** Rates over the newest complete windows (the last point is the window still filling). */
function rates(activity) {
  const complete = activity.points.slice(0, -1).slice(-RATE_WINDOWS);
  const requests = complete.reduce((n, p) => n + p.requests, 0);
  const errors = complete.reduce((n, p) => n + p.errors, 0);
  const seconds = (complete.length * activity.windowMs) / 1000;
  return { perSec: seconds > 0 ? requests / seconds : 0, errorRate: requests > 0 ? errors / requests : null };
}

// ---- confirmation and results ----

function confirmAction(title, text, okLabel) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('confirm-ok').focus();
  });
}

function showResult(message, isError) {
  const box = $('action-result');
  box.textContent = message;
  box.className = isError ? 'result error' : 'result ok';
}

async function act(title, text, okLabel, method, path) {
  if (!(await confirmAction(title, text, okLabel))) return;
  try {
    const body = await api(method, path);
    showResult(body?.status ?? 'Done.', false);
  } catch (err) {
    if (err instanceof KeyRefused) return signOut('The management key was refused (was it rotated?). Sign in again.');
    showResult(err instanceof ApiError ? `${err.status} ${err.type}: ${err.message}` : String(err), true);
  }
  void refresh();
}

// ---- models ----

const cards = new Map();
let modelApiEnabled = false;

const enc = encodeURIComponent;

function modelCard(m) {
  const id = `m-${cards.size}-${m.modelName.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const title = el('h3', { id: `${id}-title` }, `${m.modelName} `, el('span', { class: 'version', text: `v${m.modelVersion}` }));
  const badge = el('span', { class: 'badge', text: 'default' });
  title.append(' ', badge);
  const facts = el('dl', { class: 'facts' });
  const chartBox = el('div', { class: 'chart' });
  const chartCaption = el('figcaption', { id: `${id}-chart-caption` });
  const figure = el('figure', { class: 'latency', 'aria-labelledby': `${id}-chart-caption`, 'data-latency-points': '0' }, chartBox, chartCaption);
  const loadBox = el('div', { class: 'chart' });
  const loadCaption = el('figcaption', { id: `${id}-load-caption` });
  const loadFigure = el('figure', { class: 'load', 'aria-labelledby': `${id}-load-caption` }, loadBox, loadCaption);
  const workerRows = el('tbody');
  const workers = el(
    'div',
    { class: 'scroll', tabindex: '0', role: 'region', 'aria-label': `Workers of ${m.modelName} ${m.modelVersion}` },
    el(
      'table',
      { class: 'workers' },
      el('caption', { text: 'Workers' }),
      el('thead', {}, el('tr', {}, ...['Id', 'PID', 'State', 'Memory', 'Restarts', 'Last error'].map((h) => el('th', { scope: 'col', text: h })))),
      workerRows,
    ),
  );
  const min = el('input', { id: `${id}-min`, type: 'number', min: '0', value: String(m.minWorkers), class: 'num' });
  const max = el('input', { id: `${id}-max`, type: 'number', min: '0', value: String(m.maxWorkers), class: 'num' });
  const scaleForm = el(
    'form',
    { class: 'inline', 'aria-label': `Scale ${m.modelName} ${m.modelVersion}` },
    el('label', { for: min.id, text: 'Min workers' }),
    min,
    el('label', { for: max.id, text: 'Max workers' }),
    max,
    el('button', { type: 'submit', text: 'Scale…' }),
  );
  scaleForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const lo = Number(min.value);
    const hi = max.value === '' ? lo : Number(max.value);
    void act(
      'Scale workers',
      `Scale ${m.modelName} version ${m.modelVersion} to min ${lo}, max ${hi} workers?`,
      'Scale',
      'PUT',
      `../models/${enc(m.modelName)}/${enc(m.modelVersion)}?min_worker=${lo}&max_worker=${hi}`,
    );
  });
  const setDefault = el('button', { type: 'button', text: 'Make default…' });
  setDefault.addEventListener('click', () =>
    act('Set default version', `Make version ${m.modelVersion} the default of ${m.modelName}?`, 'Make default', 'PUT', `../models/${enc(m.modelName)}/${enc(m.modelVersion)}/set-default`),
  );
  const unregister = el('button', { type: 'button', class: 'danger', text: 'Unregister…' });
  unregister.addEventListener('click', () =>
    act('Unregister', `Unregister ${m.modelName} version ${m.modelVersion}? Its workers stop.`, 'Unregister', 'DELETE', `../models/${enc(m.modelName)}/${enc(m.modelVersion)}`),
  );
  const actions = el('div', { class: 'actions' }, scaleForm, el('div', { class: 'buttons' }, setDefault, unregister));
  const node = el('article', { class: 'card', 'aria-labelledby': title.id, 'data-model': m.modelName, 'data-version': m.modelVersion }, title, facts, figure, loadFigure, workers, actions);
  const chart = timeChart(chartBox, 'ms', [
    { label: 'p50 ms', stroke: '#0b5cad', width: 2, points: { show: true, size: 5, fill: '#0b5cad' } },
    { label: 'p99 ms', stroke: '#b3261e', width: 2, dash: [6, 3], points: { show: true, size: 5, fill: '#b3261e' } },
  ]);
  const loadChart = timeChart(loadBox, '/s', [
    { label: 'requests/s', stroke: '#1d6b33', width: 2 },
    { label: 'errors/s', stroke: '#b3261e', width: 2, dash: [6, 3] },
  ]);
  return { node, badge, facts, figure, chartCaption, chart, loadFigure, loadCaption, loadChart, workerRows, setDefault, unregister };
}

/** A small uPlot chart over time, sized to its figure later. */
function timeChart(box, unit, series) {
  return new uPlot(
    {
      width: 320,
      height: CHART_HEIGHT,
      series: [{}, ...series],
      axes: [{ space: 70 }, { label: unit, size: 48 }],
      scales: { x: { time: true } },
      legend: { show: true },
      cursor: { show: false },
    },
    [[], [], []],
    box,
  );
}

function factList(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]));
}

function updateCard(card, m) {
  card.badge.hidden = !m.isDefault;
  card.setDefault.hidden = m.isDefault;
  card.unregister.hidden = !modelApiEnabled;
  const r = rates(m.activity);
  const points = m.activity.points;
  const latest = [...points].reverse().find((p) => p.p50Ms !== null);
  factList(card.facts, [
    ['Runtime', m.runtime],
    ['Handler', m.handler],
    ['Batch size', m.batchSize],
    ['Max batch delay', `${m.maxBatchDelayMs} ms`],
    ['Queue', `${m.queue.depth} / ${m.queue.capacity}`],
    ['Workers', `${m.workers.length} (min ${m.minWorkers}, max ${m.maxWorkers})`],
    ['Requests/s', r.perSec.toFixed(1)],
    ['Error rate', r.errorRate === null ? '–' : `${(r.errorRate * 100).toFixed(1)} %`],
    ...(m.loadFailure === null ? [] : [['Load failure', m.loadFailure]]),
  ]);
  const xs = points.map((p) => p.atMs / 1000);
  card.chart.setData([xs, points.map((p) => p.p50Ms), points.map((p) => p.p99Ms)]);
  const measured = points.filter((p) => p.p50Ms !== null).length;
  card.figure.dataset.latencyPoints = String(measured);
  const minutes = Math.round((points.length * m.activity.windowMs) / 60000);
  card.chartCaption.textContent =
    latest === undefined
      ? `Latency over the last ${minutes} minutes: no requests yet.`
      : `Latency over the last ${minutes} minutes (${m.activity.windowMs / 1000} s windows); newest: p50 ${fmtMs(latest.p50Ms)}, p99 ${fmtMs(latest.p99Ms)}.`;
  const perSec = (n) => n / (m.activity.windowMs / 1000);
  card.loadChart.setData([xs, points.map((p) => perSec(p.requests)), points.map((p) => perSec(p.errors))]);
  card.loadCaption.textContent = `Requests and errors per second over the last ${minutes} minutes; last 10 s: ${r.perSec.toFixed(1)} requests/s, error rate ${
    r.errorRate === null ? '–' : `${(r.errorRate * 100).toFixed(1)} %`
  }.`;
  fitCharts(card);
  if (m.workers.length === 0) {
    card.workerRows.replaceChildren(el('tr', {}, el('td', { colspan: '6', text: 'No workers: scale up to serve this version.' })));
    return;
  }
  card.workerRows.replaceChildren(
    ...m.workers.map((w) =>
      el(
        'tr',
        { 'data-worker': w.id, 'data-state': w.state },
        el('td', { text: String(w.id) }),
        el('td', { text: w.pid === null ? '–' : String(w.pid) }),
        el('td', {}, el('span', { class: `state state-${w.state}`, text: w.state })),
        el('td', { text: fmtBytes(w.rssBytes) }),
        el('td', { class: 'restarts', text: String(w.restarts) }),
        el('td', { class: 'last-error', text: w.lastError === null ? '–' : `${w.lastError.reason} (${new Date(w.lastError.at).toLocaleTimeString()})` }),
      ),
    ),
  );
}

function renderModels(data) {
  modelApiEnabled = data.modelApiEnabled;
  $('register-form').hidden = !modelApiEnabled;
  $('register-off').hidden = modelApiEnabled;
  const seen = new Set();
  const container = $('models');
  for (const m of data.models) {
    const key = `${m.modelName}\u0000${m.modelVersion}`;
    seen.add(key);
    let card = cards.get(key);
    if (card === undefined) {
      card = modelCard(m);
      cards.set(key, card);
      container.append(card.node);
    }
    updateCard(card, m);
  }
  for (const [key, card] of cards) {
    if (!seen.has(key)) {
      card.chart.destroy();
      card.loadChart.destroy();
      card.node.remove();
      cards.delete(key);
    }
  }
  $('no-models').hidden = data.models.length > 0;
}

// ---- server, store, log ----

function renderServer(s) {
  $('server-summary').textContent = `Lantern ${s.version} · up ${fmtUptime(s.uptimeSec)}`;
  const snap = s.snapshots;
  factList($('server-facts'), [
    ['Version', s.version],
    ['Started', new Date(s.startedAt).toLocaleString()],
    ['Uptime', fmtUptime(s.uptimeSec)],
    ['Token authorization', s.tokenAuthorization ? 'on' : 'off'],
    ['Model API', s.modelApiEnabled ? 'on' : 'off'],
    ['Snapshots', !snap.enabled ? 'off' : snap.lastError !== null ? `failing: ${snap.lastError}` : snap.last === null ? 'none written yet' : `${snap.last} (${new Date(snap.lastAt).toLocaleTimeString()})`],
  ]);
  $('listeners').replaceChildren(...s.listeners.map((l) => el('li', {}, el('strong', { text: l.api }), ` ${l.url}`)));
  const rows = Object.entries(s.config).map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: v === null ? '' : String(v) })));
  $('config').tBodies[0].replaceChildren(...rows);
}

function renderStore(store) {
  const select = $('register-store');
  const chosen = select.value;
  const names = store.entries;
  const current = [...select.options].slice(1).map((o) => o.value);
  if (current.join('\n') === names.join('\n')) return;
  select.replaceChildren(el('option', { value: '', text: '(choose an archive)' }), ...names.map((n) => el('option', { value: n, text: n })));
  if (names.includes(chosen)) select.value = chosen;
}

let logLast = 0;
let logFilter = '';

async function pollLog() {
  const query = new URLSearchParams({ after: String(logLast), filter: logFilter });
  const { lines, last } = await api('GET', `api/logs?${query}`);
  logLast = last;
  if (lines.length === 0) return;
  const list = $('log');
  list.append(
    ...lines.map((l) =>
      el('div', { class: `line lvl-${l.level}` }, el('time', { text: new Date(l.timeMs).toLocaleTimeString() }), ` ${l.level} `, el('span', { class: 'src', text: l.source }), ` ${l.message}`),
    ),
  );
  while (list.childElementCount > LOG_LINES_SHOWN) list.firstElementChild.remove();
  if ($('log-follow').checked) list.scrollTop = list.scrollHeight;
}

// ---- polling and sign-in ----

let timer = null;
let storePolledMs = 0;
let polling = false;

async function refresh() {
  if (polling) return;
  polling = true;
  try {
    const [server, models] = await Promise.all([api('GET', 'api/server'), api('GET', 'api/models')]);
    renderServer(server);
    renderModels(models);
    await pollLog();
    if (models.modelApiEnabled && Date.now() - storePolledMs > STORE_POLL_MS) {
      storePolledMs = Date.now();
      renderStore(await api('GET', 'api/store'));
    }
    $('poll-status').textContent = `Updated ${new Date().toLocaleTimeString()}`;
    $('poll-status').classList.remove('error');
  } catch (err) {
    if (err instanceof KeyRefused) {
      signOut(storedKey() === null ? '' : 'The management key was refused (was it rotated?). Sign in again.');
      return;
    }
    $('poll-status').textContent = `Cannot reach the server: ${err.message}`;
    $('poll-status').classList.add('error');
  } finally {
    polling = false;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    if (!$('app').hidden) schedule();
  }, POLL_MS);
}

function showApp() {
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = storedKey() === null;
  schedule();
}

function signOut(message) {
  clearTimeout(timer);
  sessionStorage.removeItem(KEY_ITEM);
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message;
  $('key-input').focus();
}

async function start() {
  try {
    await refresh();
  } catch {
    // refresh reports its own failures
  }
  // Token authorization off, or a key kept from earlier in this tab: the console opens directly.
  if ($('sign-in').hidden) {
    showApp();
    $('models-title').focus();
  }
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('key-input').value.trim();
  if (key === '') return;
  sessionStorage.setItem(KEY_ITEM, key);
  $('key-input').value = '';
  $('sign-in-error').textContent = '';
  await refresh();
  if (storedKey() !== null) {
    showApp();
    $('models-title').focus();
  }
});

$('sign-out').addEventListener('click', () => signOut('Signed out.'));

$('register-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = $('register-url').value.trim() || $('register-store').value;
  if (url === '') {
    showResult('Choose an archive from the model store or enter a URL.', true);
    $('register-store').focus();
    return;
  }
  const query = new URLSearchParams({ url, initial_workers: $('register-workers').value || '0', synchronous: 'true' });
  const name = $('register-name').value.trim();
  if (name !== '') query.set('model_name', name);
  void act('Register a model', `Register ${url}${name === '' ? '' : ` as ${name}`}?`, 'Register', 'POST', `../models?${query}`);
});

let filterTimer = null;
$('log-filter').addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    logFilter = $('log-filter').value;
    logLast = 0;
    $('log').replaceChildren();
    void pollLog().catch(() => undefined);
  }, 300);
});
$('log-form').addEventListener('submit', (e) => e.preventDefault());

/** Charts as wide as their card (uPlot draws at a fixed size). */
function fitCharts(card) {
  const width = card.figure.clientWidth;
  if (width <= 0) return;
  for (const chart of [card.chart, card.loadChart]) if (Math.abs(width - chart.width) > 4) chart.setSize({ width, height: CHART_HEIGHT });
}

window.addEventListener('resize', () => {
  for (const card of cards.values()) fitCharts(card);
});

void start();
