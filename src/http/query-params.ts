// TorchServe's lenient query parameter parsing: integers that do not parse take the default,
// booleans are true only for a case-insensitive "true".

export function intParam(query: URLSearchParams, name: string): number | null {
  const raw = query.get(name);
  if (raw === null || !/^[+-]?\d+$/.test(raw.trim())) return null;
  const value = Number(raw.trim());
  return Number.isSafeInteger(value) && Math.abs(value) <= 2 ** 31 - 1 ? value : null;
}

export function boolParam(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = query.get(name);
  return raw === null ? fallback : raw.trim().toLowerCase() === 'true';
}

export function stringParam(query: URLSearchParams, name: string): string | null {
  const raw = query.get(name);
  return raw === null || raw === '' ? null : raw;
}
