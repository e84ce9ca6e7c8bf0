import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { maskedValue } from './console-view.js';

describe('maskedValue', () => {
  it('masks secret keys and passwords inside URLs, and shows addresses and patterns as written', () => {
    assert.equal(maskedValue('keystore_pass', 'hunter2'), '********');
    assert.equal(maskedValue('allowed_urls', 'https://user:hunter2@example.com/x.mar'), 'https://user:********@example.com/x.mar');
    assert.equal(maskedValue('allowed_urls', [/https:\/\/example\.com\/.*/]), '["https:\\\\/\\\\/example\\\\.com\\\\/.*"]');
    assert.equal(maskedValue('inference_address', { scheme: 'http', host: '127.0.0.1', port: 8080, path: null }), 'http://127.0.0.1:8080');
    assert.equal(maskedValue('job_queue_size', 100), 100);
    assert.equal(maskedValue('certificate_file', null), null);
    assert.equal(String(maskedValue('model_snapshot', 'x'.repeat(600))).length, 501);
  });
});
