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

/** True when one pattern matches the whole url (also for RegExps that were not compiled here). */
export function matchesAllowedUrl(url: string, allowedUrls: readonly RegExp[]): boolean {
  return allowedUrls.some((pattern) => {
    pattern.lastIndex = 0;
    const match = pattern.exec(url);
    pattern.lastIndex = 0;
    return match !== null && match.index === 0 && match[0].length === url.length;
  });
}

/** What TorchServe treats as "a URL" rather than a name in the model store. */
export function looksLikeUrl(url: string): boolean {
  return /^(?:file|https?):\/\//i.test(url);
}

/** The url with percent-escapes decoded, or the url itself when it is not validly escaped. */
export function percentDecoded(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
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
