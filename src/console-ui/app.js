// Lantern's browser console: reads the management API every 2 s with the management key as a
// Bearer header (never in a URL), and acts through the same API. No data is in these files.
import { api, ApiError, KEY_ITEM, KeyRefused, storedKey } from './management-api.js';
import { renderModels } from './model-cards.js';
import { $, el, factList, fmtUptime } from './page-elements.js';

const POLL_MS = 2000;
const STORE_POLL_MS = 10000;
const LOG_LINES_SHOWN = 500;

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
    renderModels(models, act);
    $('register-form').hidden = !models.modelApiEnabled;
    $('register-off').hidden = models.modelApiEnabled;
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

void start();
