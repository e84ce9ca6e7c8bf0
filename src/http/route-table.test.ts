import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRoute, pathSegments, type Handler, type Route } from './route-table.js';

const handler = (name: string): Handler => {
  const h: Handler = () => {};
  Object.defineProperty(h, 'name', { value: name });
  return h;
};

const listModels = handler('listModels');
const register = handler('register');
const describeModel = handler('describeModel');
const unregister = handler('unregister');
const predict = handler('predict');
const ping = handler('ping');

const routes: Route[] = [
  { api: 'inference', path: '/ping', operations: { GET: { summary: 'ping', handler: ping } } },
  {
    api: 'inference',
    path: '/predictions/{model_name}',
    openEnded: true,
    operations: { ANY: { summary: 'predict', handler: predict } },
  },
  {
    api: 'management',
    path: '/models',
    operations: { GET: { summary: 'list', handler: listModels }, POST: { summary: 'register', handler: register } },
  },
  {
    api: 'management',
    path: '/models/{model_name}/{model_version}',
    operations: { GET: { summary: 'describe', handler: describeModel }, DELETE: { summary: 'unregister', handler: unregister } },
  },
  {
    api: 'management',
    path: '/models/{model_name}',
    operations: { GET: { summary: 'describe', handler: describeModel }, DELETE: { summary: 'unregister', handler: unregister } },
  },
];

describe('pathSegments', () => {
  it('splits a path into its segments without the leading empty one', () => {
    assert.deepEqual(pathSegments('/models/m/1.0'), ['models', 'm', '1.0']);
  });

  it('drops trailing empty segments, so /models/ is /models', () => {
    assert.deepEqual(pathSegments('/models/'), ['models']);
    assert.deepEqual(pathSegments('/models///'), ['models']);
    assert.deepEqual(pathSegments('/models/'), pathSegments('/models'));
  });

  it('gives no segments for the root path', () => {
    assert.deepEqual(pathSegments('/'), []);
    assert.deepEqual(pathSegments('//'), []);
  });

  it('keeps empty segments in the middle', () => {
    assert.deepEqual(pathSegments('/models//1.0'), ['models', '', '1.0']);
  });
});

describe('matchRoute', () => {
  const match = (api: 'inference' | 'management', method: string, path: string) =>
    matchRoute(routes, api, method, pathSegments(path));

  it('finds the operation for the method and collects path parameters', () => {
    const m = match('management', 'DELETE', '/models/m/2.0');
    assert.equal(m.kind, 'found');
    if (m.kind !== 'found') return;
    assert.equal(m.handler, unregister);
    assert.deepEqual(m.params, { model_name: 'm', model_version: '2.0' });
    assert.equal(m.route.path, '/models/{model_name}/{model_version}');
  });

  it('matches a path with a trailing slash like the path without it', () => {
    const m = match('management', 'GET', '/models/');
    assert.equal(m.kind, 'found');
    if (m.kind === 'found') assert.equal(m.handler, listModels);
  });

  it('answers method-not-allowed when the path matches but the method does not', () => {
    const put = match('management', 'PUT', '/models');
    assert.equal(put.kind, 'method-not-allowed');
    if (put.kind === 'method-not-allowed') assert.equal(put.route.path, '/models');
    const post = match('inference', 'POST', '/ping');
    assert.equal(post.kind, 'method-not-allowed');
    if (post.kind === 'method-not-allowed') assert.equal(post.route.path, '/ping');
  });

  it('answers not-found when no route matches the path', () => {
    assert.deepEqual(match('management', 'GET', '/nothing'), { kind: 'not-found' });
    assert.deepEqual(match('management', 'GET', '/'), { kind: 'not-found' });
    assert.deepEqual(match('management', 'GET', '/models/m/1.0/extra'), { kind: 'not-found' });
  });

  it('only matches routes of the given api', () => {
    assert.deepEqual(match('management', 'GET', '/ping'), { kind: 'not-found' });
    assert.deepEqual(match('inference', 'GET', '/models'), { kind: 'not-found' });
  });

  it('does not bind a parameter to an empty segment', () => {
    assert.deepEqual(match('management', 'GET', '/models//1.0'), { kind: 'not-found' });
  });

  it('answers every method on an ANY route', () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      const m = match('inference', method, '/predictions/m');
      assert.equal(m.kind, 'found', method);
      if (m.kind === 'found') assert.equal(m.handler, predict);
    }
  });

  it('collects the extra segments of an open-ended route as rest', () => {
    const m = match('inference', 'POST', '/predictions/m/1.0/extra');
    assert.equal(m.kind, 'found');
    if (m.kind !== 'found') return;
    assert.deepEqual(m.params, { model_name: 'm', rest: '1.0/extra' });
  });

  it('sets no rest on an open-ended route without extra segments', () => {
    const m = match('inference', 'POST', '/predictions/m/');
    assert.equal(m.kind, 'found');
    if (m.kind === 'found') assert.deepEqual(m.params, { model_name: 'm' });
  });

  it('does not match an open-ended route with too few segments', () => {
    assert.deepEqual(match('inference', 'POST', '/predictions'), { kind: 'not-found' });
  });
});
