// What every value parser returns: a typed value (possibly with a warning) or the reason it was refused.

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T; readonly warning?: string }
  | { readonly ok: false; readonly error: string };

export type Parser<T> = (raw: string) => ParseResult<T>;

export const ok = <T>(value: T, warning?: string): ParseResult<T> =>
  warning === undefined ? { ok: true, value } : { ok: true, value, warning };

export const fail = <T = never>(error: string): ParseResult<T> => ({ ok: false, error });
