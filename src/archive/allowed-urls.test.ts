import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileAllowedUrls,
  DEFAULT_ALLOWED_URL_PATTERNS,
  fileNameOf,
  looksLikeUrl,
  matchesAllowedUrl,
  percentDecoded,
} from './allowed-urls.js';

describe('allowed_urls', () => {
  it('matches the whole url, case-insensitively', () => {
    const allowed = compileAllowedUrls(['https://models\\.example\\.com/.*']);
    assert.equal(matchesAllowedUrl('https://models.example.com/a.mar', allowed), true);
    assert.equal(matchesAllowedUrl('HTTPS://MODELS.EXAMPLE.COM/a.mar', allowed), true);
    assert.equal(matchesAllowedUrl('https://models.example.com.evil.net/a.mar', allowed), false);
    assert.equal(matchesAllowedUrl('xhttps://models.example.com/a.mar', allowed), false);
  });

  it('anchors each alternative of the default patterns', () => {
    const allowed = compileAllowedUrls([...DEFAULT_ALLOWED_URL_PATTERNS]);
    assert.equal(matchesAllowedUrl('file:///tmp/a.mar', allowed), true);
    assert.equal(matchesAllowedUrl('http://host/a.mar', allowed), true);
    assert.equal(matchesAllowedUrl('evil http://host/a.mar', allowed), false);
    assert.equal(matchesAllowedUrl('a.mar', allowed), false);
  });

  it('insists on a full match even for regexps compiled elsewhere', () => {
    assert.equal(matchesAllowedUrl('http://a/x.mar', [/http:\/\/a/]), false);
    assert.equal(matchesAllowedUrl('http://a/x.mar', [/http:\/\/a.*/g]), true);
  });

  it('drops a Java (?i) prefix, skips blanks and names a pattern that does not compile', () => {
    assert.equal(compileAllowedUrls(['(?i)http://x/.*', ' ', '']).length, 1);
    assert.throws(() => compileAllowedUrls(['http://(']), /Invalid allowed_urls pattern "http:\/\/\("/);
  });

  it('tells URLs from store names', () => {
    assert.deepEqual(
      ['http://h/x', 'HTTPS://h/x', 'file:///x', 's3://b/x', 'x.mar', '/abs/x.mar'].map(looksLikeUrl),
      [true, true, true, false, false, false],
    );
  });

  it('takes the last path component as the file name', () => {
    assert.equal(fileNameOf('https://h/a/b/model.mar?sig=1#f'), 'model.mar');
    assert.equal(fileNameOf('sub/dir/model.mar'), 'model.mar');
    assert.equal(fileNameOf('model.mar'), 'model.mar');
    assert.equal(fileNameOf('mydir/'), 'mydir');
    assert.equal(fileNameOf('https://h/'), '');
  });

  it('checks the url as written and as it will be fetched', () => {
    const allowed = compileAllowedUrls(['http://127\\.0\\.0\\.1:8000/models/.*']);
    assert.equal(matchesAllowedUrl('http://127.0.0.1:8000/models/a.mar', allowed), true);
    // These all fetch /secret/x.mar although the text starts with the allowed prefix.
    assert.equal(matchesAllowedUrl('http://127.0.0.1:8000/models/%2e%2e/secret/x.mar', allowed), false);
    assert.equal(matchesAllowedUrl('http://127.0.0.1:8000/models/.%2E/secret/x.mar', allowed), false);
    assert.equal(matchesAllowedUrl('http://127.0.0.1:8000/models/%2e%2e/%zz/x.mar', allowed), false);
    assert.equal(matchesAllowedUrl('http://127.0.0.1:8000/models/.\t./secret/x.mar', allowed), false);
    assert.equal(matchesAllowedUrl('http://127.0.0.1:8000/models\\..\\secret/x.mar', allowed), false);
  });

  it('decodes every valid escape, repeatedly, and drops tabs and newlines', () => {
    assert.equal(percentDecoded('a/%2e%2e/b'), 'a/../b');
    assert.equal(percentDecoded('a/%252e%252E/b'), 'a/../b');
    assert.equal(percentDecoded('a/%2e%2e/%zz/b'), 'a/../%zz/b');
    assert.equal(percentDecoded('a/.%09./b'), 'a/../b');
    assert.equal(percentDecoded('a/.\n./b'), 'a/../b');
    assert.equal(percentDecoded('plain.mar'), 'plain.mar');
  });
});
