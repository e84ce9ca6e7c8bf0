// One card per model version: its settings, charts, workers and actions, updated in place so
// that focus and typed values survive each poll.
/* global uPlot */
import { $, el, factList, fmtBytes, fmtMs } from './page-elements.js';

/** Windows (of the server's 2 s) averaged for requests per second and error rate. */
const RATE_WINDOWS = 5;
const CHART_HEIGHT = 150;

/** Rates over the newest complete windows (the last point is the window still filling). */
function rates(activity) {
  const complete = activity.points.slice(0, -1).slice(-RATE_WINDOWS);
  const requests = complete.reduce((n, p) => n + p.requests, 0);
  const errors = complete.reduce((n, p) => n + p.errors, 0);
  const seconds = (complete.length * activity.windowMs) / 1000;
  return { perSec: seconds > 0 ? requests / seconds : 0, errorRate: requests > 0 ? errors / requests : null };
}
const cards = new Map();
let modelApiEnabled = false;
/** Asks for confirmation, calls the API and shows its answer (app.js). */
let act = async () => undefined;

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

export function renderModels(data, action) {
  modelApiEnabled = data.modelApiEnabled;
  act = action;
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

/** Charts as wide as their card (uPlot draws at a fixed size). */
function fitCharts(card) {
  const width = card.figure.clientWidth;
  if (width <= 0) return;
  for (const chart of [card.chart, card.loadChart]) if (Math.abs(width - chart.width) > 4) chart.setSize({ width, height: CHART_HEIGHT });
}

window.addEventListener('resize', () => {
  for (const card of cards.values()) fitCharts(card);
});
