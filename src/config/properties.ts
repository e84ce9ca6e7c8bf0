// Java `.properties` text: reading (config.properties, snapshots) and writing (snapshots), plus
// TorchServe's `$$VAR$$` references to environment variables (spec §5.1 item 2).

import type { ParseResult } from './parse-result.js';
import { fail, ok } from './parse-result.js';

export class PropertiesSyntaxError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'PropertiesSyntaxError';
    this.line = line;
  }
}

const BLANK = new Set([' ', '\t', '\f']);
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', f: '\f' };

interface LogicalLine {
  readonly text: string;
  readonly lineNumber: number;
}

function skipBlanks(text: string, from: number): number {
  let index = from;
  while (index < text.length && BLANK.has(text[index] ?? '')) index++;
  return index;
}

/** True when the line ends in an odd number of backslashes, i.e. continues on the next line. */
function continues(line: string): boolean {
  let backslashes = 0;
  for (let index = line.length - 1; index >= 0 && line[index] === '\\'; index--) backslashes++;
  return backslashes % 2 === 1;
}

/** Joins continued lines; drops blank and comment lines (a comment line never continues). */
function logicalLines(text: string): LogicalLine[] {
  const physical = text.split(/\r\n|\r|\n/);
  const result: LogicalLine[] = [];
  for (let index = 0; index < physical.length; index++) {
    const lineNumber = index + 1;
    const first = physical[index] ?? '';
    const start = skipBlanks(first, 0);
    if (start === first.length || first[start] === '#' || first[start] === '!') continue;
    let joined = first.slice(start);
    while (continues(joined)) {
      joined = joined.slice(0, -1);
      index++;
      if (index >= physical.length) break;
      const next = physical[index] ?? '';
      joined += next.slice(skipBlanks(next, 0));
    }
    result.push({ text: joined, lineNumber });
  }
  return result;
}

function unescape(text: string, lineNumber: number): string {
  let out = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? '';
    if (char !== '\\') {
      out += char;
      continue;
    }
    index++;
    const escaped = text[index];
    if (escaped === undefined) break;
    if (escaped === 'u') {
      const hex = text.slice(index + 1, index + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PropertiesSyntaxError(lineNumber, `malformed \\uXXXX escape "\\u${hex}"`);
      out += String.fromCharCode(parseInt(hex, 16));
      index += 4;
    } else {
      out += SIMPLE_ESCAPES[escaped] ?? escaped;
    }
  }
  return out;
}

/** Index of the first unescaped `=`, `:` or blank: where the key ends. */
function keyEnd(text: string): number {
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? '';
    if (char === '\\') index++;
    else if (char === '=' || char === ':' || BLANK.has(char)) return index;
  }
  return text.length;
}

/**
 * Parses `.properties` text into entries in file order; a repeated key keeps its last value.
 * Throws PropertiesSyntaxError on a malformed `\uXXXX` escape, as Java does.
 */
export function parseProperties(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const { text: line, lineNumber } of logicalLines(text)) {
    const end = keyEnd(line);
    let valueStart = skipBlanks(line, end);
    if (line[valueStart] === '=' || line[valueStart] === ':') valueStart = skipBlanks(line, valueStart + 1);
    entries.set(unescape(line.slice(0, end), lineNumber), unescape(line.slice(valueStart), lineNumber));
  }
  return entries;
}

function escape(text: string, isKey: boolean): string {
  let out = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index] ?? '';
    const code = char.charCodeAt(0);
    if (char === ' ') out += isKey || index === 0 ? '\\ ' : ' ';
    else if (char === '\\') out += '\\\\';
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (char === '\f') out += '\\f';
    else if ('=:#!'.includes(char)) out += `\\${char}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += char;
  }
  return out;
}

/**
 * Writes entries as `.properties` text (ASCII only, one line per entry, `\n` line ends) that
 * parseProperties and Java read back unchanged. Each header line becomes a `#` comment; snapshots pass
 * `['Saving snapshot', <date>]`.
 */
export function formatProperties(
  entries: Iterable<readonly [string, string]>,
  headerLines: readonly string[] = [],
): string {
  let out = '';
  for (const header of headerLines) {
    for (const line of header.split(/\r\n|\r|\n/)) out += `#${line}\n`;
  }
  for (const [name, value] of entries) out += `${escape(name, true)}=${escape(value, false)}\n`;
  return out;
}

const ENV_REFERENCE = /\$\$([^$]+)\$\$/g;

/**
 * Replaces every `$$VAR$$` in a value with the variable's value. An unset variable is an error whose
 * message is TorchServe's: `Invalid Environment Variable VAR`.
 */
export function substituteEnvVars(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
): ParseResult<string> {
  let missing: string | null = null;
  const substituted = value.replace(ENV_REFERENCE, (reference, name: string) => {
    const found = Object.hasOwn(env, name) ? env[name] : undefined;
    if (found === undefined) {
      missing ??= name;
      return reference;
    }
    return found;
  });
  return missing === null ? ok(substituted) : fail(`Invalid Environment Variable ${missing}`);
}
