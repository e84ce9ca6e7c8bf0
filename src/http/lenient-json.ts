// TorchServe parses a registration's JSON body leniently (Gson's lenient mode), so clients send
// `{'url': 'x.mar'}` with single quotes and it works there. Lantern accepts the same: strict JSON
// first, then the text with its single-quoted strings turned into double-quoted ones.

/** JSON.parse, falling back to single-quoted strings; throws SyntaxError like JSON.parse. */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (strictError) {
    if (!text.includes("'")) throw strictError;
    return JSON.parse(withDoubleQuotes(text));
  }
}

function withDoubleQuotes(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c !== '"' && c !== "'") {
      out += c;
      i++;
      continue;
    }
    // A string: copied with double quotes, its escapes kept, a bare " inside a '…' string escaped.
    let body = '';
    let j = i + 1;
    while (j < text.length && text[j] !== c) {
      const d = text[j] as string;
      if (d === '\\' && j + 1 < text.length) {
        const next = text[j + 1] as string;
        body += c === "'" && next === "'" ? "'" : d + next;
        j += 2;
        continue;
      }
      body += c === "'" && d === '"' ? '\\"' : d;
      j++;
    }
    out += `"${body}"`;
    i = j + 1;
  }
  return out;
}
