// End-to-end test support for the gRPC tests: Python handlers written into model directories of a
// test's model store (TorchServe's no-archive format: the handler beside MAR-INF/MANIFEST.json).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Answers each request with its inputs (as text) and the sequence headers it was given. */
export const ECHO_HANDLER = `
import json

SEQUENCE_HEADERS = ("ts_request_sequence_id", "ts_request_sequence_start", "ts_request_sequence_end")


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else json.dumps(value)


def handle(data, context):
    if data is None:
        return None
    out = []
    for idx, request in enumerate(data):
        sequence = {}
        for name in SEQUENCE_HEADERS:
            value = context.get_request_header(idx, name)
            if value is not None:
                sequence[name] = value
        out.append({"inputs": {k: _text(v) for k, v in request.items()}, "sequence": sequence})
    return out
`;

/**
 * Streams \`n\` intermediate chunks "chunk-<i>;" through the worker's streaming API, then returns
 * "done" — or raises after the chunks when the request has an input named "fail".
 */
export const STREAM_HANDLER = `
from lantern_worker.streaming import send_intermediate_predict_response


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return str(value)


def handle(data, context):
    if data is None:
        return None
    request = data[0]
    count = int(_text(request.get("n", "3")))
    for i in range(count):
        send_intermediate_predict_response(["chunk-%d;" % i], context.request_ids, "Intermediate Prediction success", 200, context)
    if "fail" in request:
        raise RuntimeError("the handler failed in the middle of its stream")
    return ["done"]
`;

export interface ModelDir {
  /** Directory name in the model store: the registration url. */
  readonly dir: string;
  readonly modelName: string;
  readonly version: string;
  readonly handlerSource: string;
}

export async function writeModelDir(store: string, model: ModelDir): Promise<void> {
  const root = path.join(store, model.dir);
  await mkdir(path.join(root, 'MAR-INF'), { recursive: true });
  await writeFile(path.join(root, 'handler.py'), model.handlerSource);
  const manifest = {
    createdOn: '01/01/2026 00:00:00',
    runtime: 'python',
    model: { modelName: model.modelName, serializedFile: '', handler: 'handler.py', modelVersion: model.version },
    archiverVersion: '0.12.0',
  };
  await writeFile(path.join(root, 'MAR-INF', 'MANIFEST.json'), JSON.stringify(manifest, null, 2));
}
