// Freezes plain objects and arrays all the way down (RegExp, Map and class instances are left alone),
// so a configuration value cannot be changed by whoever it is handed to.

export function deepFreeze<T>(value: T): T {
  const isPlain =
    Array.isArray(value) || (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype);
  if (isPlain && !Object.isFrozen(value)) {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
