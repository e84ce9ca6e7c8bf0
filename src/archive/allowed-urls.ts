// allowed_urls (spec §1.3 step 4): Java regexes, case-insensitive, matched against the whole url.

/** TorchServe's default allowed_urls. */
export const DEFAULT_ALLOWED_URL_PATTERNS: readonly string[] = Object.freeze(['file://.*', 'http(s)?://.*']);

/**
 * Compiles allowed_urls patterns into anchored, case-insensitive RegExps. A leading Java `(?i)` is
 * dropped (JavaScript has no inline flags; every pattern is case-insensitive anyway). Throws an Error
 * naming the pattern when one does not compile.
 */
export function compileAllowedUrls(patterns: readonly string[]): RegExp[] {
  return patterns
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern !== '')
    .map((pattern) => {
      const body = pattern.replace(/^\(\?i\)/, '');
      try {
        return new RegExp(`^(?:${body})$`, 'i');
      } catch (err) {
        throw new Error(`Invalid allowed_urls pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`, { cause: err });
      }
    });
}

/**
 * True when the url passes allowed_urls both as written and as it will be fetched (WHATWG-normalised:
 * scheme and host lower-cased, dot segments resolved, tabs and newlines dropped, default port
 * removed), so no spelling can make the fetched URL differ from the one that was checked.
 */
export function matchesAllowedUrl(url: string, allowedUrls: readonly RegExp[]): boolean {
  const fetched = normalizedUrl(url);
  const forms = fetched === null || fetched === url ? [url] : [url, fetched];
  return forms.every((form) => allowedUrls.some((pattern) => fullMatch(pattern, form)));
}

function fullMatch(pattern: RegExp, text: string): boolean {
  pattern.lastIndex = 0;
  const match = pattern.exec(text);
  pattern.lastIndex = 0;
  return match !== null && match.index === 0 && match[0].length === text.length;
}

/** The URL a client would fetch for `url`, or null when it does not parse as a URL. */
export function normalizedUrl(url: string): string | null {
  try {
    return new URL(url).href;
  } catch {
    return null;
  }
}

/** What TorchServe treats as "a URL" rather than a name in the model store. */
export function looksLikeUrl(url: string): boolean {
  return /^(?:file|https?):\/\//i.test(url);
}

/**
 * The url as a path check must see it: tabs and newlines removed (URL parsers drop them), and every
 * valid `%XX` escape decoded, repeatedly, so `%2e%2e`, `%252e%252e` and `.%2E` all show their dots
 * even when some other escape in the url is invalid.
 */
export function percentDecoded(url: string): string {
  let current = url.replace(/[\t\n\r]/g, '');
  for (let round = 0; round < 8; round += 1) {
    const next = current.replace(/%([0-9a-f]{2})/gi, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (next === current) break;
    current = next.replace(/[\t\n\r]/g, '');
  }
  return current;
}

/** The last path component: of the URL path when `url` parses as a URL, else of the raw string. */
export function fileNameOf(url: string): string {
  let pathPart = url;
  if (looksLikeUrl(url)) {
    try {
      pathPart = new URL(url).pathname;
    } catch {
      pathPart = url;
    }
  }
  const trimmed = pathPart.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
