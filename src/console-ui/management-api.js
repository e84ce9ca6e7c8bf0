// The management API as the console calls it: the key from this tab's session storage, sent as a
// Bearer header and never in a URL; TorchServe's error bodies turned into exceptions.

export const KEY_ITEM = 'lantern.managementKey';

/** A refused key: TorchServe's 400 InvalidKeyException. */
export class KeyRefused extends Error {}

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export async function api(method, path) {
  const headers = { Accept: 'application/json' };
  const key = storedKey();
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  const res = await fetch(path, { method, headers, cache: 'no-store', credentials: 'omit' });
  const text = await res.text();
  let body = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = { message: text };
  }
  if (res.ok) return body;
  if (body !== null && body.type === 'InvalidKeyException') throw new KeyRefused(body.message);
  throw new ApiError(res.status, body?.type ?? 'Error', body?.message ?? `${res.status} ${res.statusText}`);
}
