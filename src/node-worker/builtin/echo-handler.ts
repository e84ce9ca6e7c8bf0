// Built-in `echo`: answers each request with its input (the `data` parameter, else `body`, else
// the only parameter, else null), like the Python worker's built-in echo. Useful for tests.
import type { BatchRow } from '../batch-input.js';
import type { LoadedHandler } from '../predict.js';

function valueOf(row: BatchRow): unknown {
  if ('data' in row) return row.data;
  if ('body' in row) return row.body;
  const values = Object.values(row);
  return values.length === 1 ? values[0] : null;
}

export const echoHandler: LoadedHandler = Object.freeze({
  handle: (batch: BatchRow[]) => batch.map(valueOf),
});
