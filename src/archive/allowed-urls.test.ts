import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compileAllowedUrls,
  DEFAULT_ALLOWED_URL_PATTERNS,
  fileNameOf,
  looksLikeUrl,
  matchesAllowedUrl,
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
});
