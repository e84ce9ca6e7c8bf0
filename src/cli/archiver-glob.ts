// Glob patterns in --extra-files, matched the way Python's glob.glob does (non-recursive):
// `*`, `?` and `[...]`/`[!...]` within one path component; wildcards skip names starting with `.`
// unless the pattern component itself starts with `.`.
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?') || (pattern.includes('[') && pattern.includes(']'));
}

/** A RegExp for one path component, as fnmatch translates it. */
export function componentRegExp(component: string): RegExp {
  let source = '';
  for (let i = 0; i < component.length; i++) {
    const c = component[i] as string;
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[') {
      const close = component.indexOf(']', component[i + 1] === '!' ? i + 3 : i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = component.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      source += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = close;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
  }
  return new RegExp(`^${source}$`, 's');
}

/** Expands `pattern` relative to `cwd`; returns matches as the pattern spells them, sorted. */
export async function expandGlob(pattern: string, cwd: string): Promise<string[]> {
  const absolute = path.isAbsolute(pattern);
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let candidates: string[] = [absolute ? '/' : ''];
  for (const [index, part] of parts.entries()) {
    if (index === 0 && absolute) continue;
    const next: string[] = [];
    for (const base of candidates) {
      if (!hasWildcard(part)) {
        next.push(base === '' ? part : path.posix.join(base, part));
        continue;
      }
      const dir = path.resolve(cwd, base === '' ? '.' : base);
      const names = await readdir(dir).catch(() => [] as string[]);
      const re = componentRegExp(part);
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (re.test(name)) next.push(base === '' ? name : path.posix.join(base, name));
      }
    }
    candidates = next;
  }
  return candidates.filter((c) => c !== '' && c !== '/');
}
