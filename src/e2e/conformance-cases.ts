// The conformance suite's cases: one archive each, built at test time with torch-model-archiver
// 0.12.0, registered on both servers, then the same requests sent to both. Adding a case is one entry
// in CASES (docs/conformance.md has the table). Files named here are in test/fixtures/conformance,
// the Python files of test/fixtures/handlers and test/fixtures/pytorch, examples/model-store/iris, or
// written by test/fixtures/conformance/make_conformance_models.py.

/** A request body: text, or the bytes of a file in the build folder. */
export type Body = { readonly text: string; readonly contentType: string } | { readonly file: string; readonly contentType: string };

export interface Request {
  readonly api: 'inference' | 'management' | 'metrics';
  readonly method: string;
  /** `{model}` is replaced by the case's model name. */
  readonly path: string;
  readonly body?: Body;
  /**
   * `{sequence}` in a value is replaced by the `ts_request_sequence_id` the same server sent last
   * in this case (a stateful sequence's id, which each server makes up on its own), and
   * `{sequence:<label>}` by the one it sent in reply to the last request labelled so (`sequence`).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Remembers the `ts_request_sequence_id` of this request's reply under this label, for `{sequence:<label>}`. */
  readonly sequence?: string;
  /** Compare only the body lines that match (e.g. a custom metric's family on /metrics), in their order. */
  readonly lines?: RegExp;
  /** Of the lines kept, those that match are times: their value (after the last space) is masked. */
  readonly times?: RegExp;
  /**
   * The kept lines are Prometheus text: compare its families (a `# HELP` line and the lines up to the
   * next) sorted by name, as TorchServe lists them in its registry's hash-map order, which is not
   * the order they were made in and changes from one run to the next.
   */
  readonly byFamily?: boolean;
}

/** One request, or requests sent at once (a batch), or a sequence of requests in order. */
export type Step = { readonly send: Request } | { readonly together: readonly Request[] };

export interface ConformanceCase {
  /** The model name, and the test's title. */
  readonly name: string;
  /** What the case covers, for the table in docs/conformance.md. */
  readonly covers: string;
  readonly archive: {
    /** A built-in handler's name, a file of the fixture folders, or a path from the repository's root (with a `/`). */
    readonly handler: string;
    readonly serializedFile?: string;
    readonly modelFile?: string;
    readonly extraFiles?: readonly string[];
    /** model-config.yaml text. */
    readonly config?: string;
  };
  /** Registration query parameters after url, initial_workers=1 (unless given here) and synchronous=true. */
  readonly register?: string;
  readonly steps: readonly Step[];
}

const json = (value: unknown): Body => ({ text: JSON.stringify(value), contentType: 'application/json' });
const predict = (body: Body, headers?: Record<string, string>): Step => ({
  send: { api: 'inference', method: 'POST', path: '/predictions/{model}', body, ...(headers === undefined ? {} : { headers }) },
});
/** A prediction of a stateful sequence: `label` remembers the sequence id its reply carries. */
const sequenced = (text: string, label: string, headers?: Record<string, string>): Step => ({
  send: {
    api: 'inference',
    method: 'POST',
    path: '/predictions/{model}',
    body: { text, contentType: 'text/plain' },
    sequence: label,
    ...(headers === undefined ? {} : { headers }),
  },
});
const manage = (method: string, p: string): Step => ({ send: { api: 'management', method, path: p } });
const image: Body = { file: 'image.png', contentType: 'image/png' };
/** A batch of four sent at once to a model with batch_size 4 and a long max_batch_delay: one batch on both servers. */
const BATCH_OF_FOUR = 'batch_size=4&max_batch_delay=5000';
const together = (bodies: readonly Body[]): Step => ({
  together: bodies.map((body) => ({ api: 'inference' as const, method: 'POST', path: '/predictions/{model}', body })),
});

/** The metric families of the custom_metrics case's handler (and TorchServe's HandlerTime and PredictionTime, which its metrics.yaml declares). */
const CUSTOM_FAMILIES = '(ImagesReceived|LoadCount|DecodeCalls|ReplyCount|HandlerTime|PredictionTime|ImagesPerBatch|UploadSize|StageTime|TopClassPercent)';

export const CASES: readonly ConformanceCase[] = [
  {
    name: 'base_scripted',
    covers: 'BaseHandler subclass, TorchScript model made by torch.jit.script; a request the handler fails on',
    archive: { handler: 'tensor_handler.py', serializedFile: 'affine_scripted.pt' },
    steps: [predict(json({ x: [1, 2, 3] })), predict(json({ x: [[0.5, -1, 2], [3, 0, -2]] })), predict(json({ x: 'three' }))],
  },
  {
    name: 'base_traced',
    covers: 'BaseHandler subclass, TorchScript model made by torch.jit.trace',
    archive: { handler: 'tensor_handler.py', serializedFile: 'conv_traced.pt' },
    steps: [predict(json({ x: [[[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]]] }))],
  },
  {
    name: 'image_classifier',
    covers: 'built-in image_classifier, torchvision MobileNetV3-Small (eager), index_to_name.json, top 5',
    archive: { handler: 'image_classifier', serializedFile: 'mobilenet.pth', modelFile: 'mobilenet_classifier.py', extraFiles: ['index_to_name.json'] },
    steps: [predict(image), predict({ text: 'not an image', contentType: 'text/plain' })],
  },
  {
    name: 'image_segmenter',
    covers: 'built-in image_segmenter, torchvision LR-ASPP MobileNetV3-Large (eager): class and score per pixel',
    archive: { handler: 'image_segmenter', serializedFile: 'lraspp.pth', modelFile: 'lraspp_segmenter.py' },
    steps: [predict(image)],
  },
  {
    name: 'object_detector',
    covers: 'built-in object_detector, torchvision SSDlite320 MobileNetV3-Large (eager), index_to_name.json',
    archive: { handler: 'object_detector', serializedFile: 'ssdlite.pth', modelFile: 'ssdlite_detector.py', extraFiles: ['index_to_name.json'] },
    steps: [predict(image)],
  },
  {
    name: 'densenet_handler',
    covers: 'built-in densenet_handler (subclassed by import), a small torchvision DenseNet (eager), a torch.save tensor as the body',
    archive: { handler: 'densenet_entry.py', serializedFile: 'densenet.pth', modelFile: 'tiny_densenet.py' },
    steps: [predict({ file: 'tensor.pt', contentType: 'application/octet-stream' })],
  },
  {
    name: 'micro_batching',
    covers: 'ts.handler_utils.micro_batching.MicroBatching: a batch of 4 in micro-batches of 2, parallelism from model-config.yaml',
    archive: {
      handler: 'micro_batch_handler.py',
      serializedFile: 'affine_scripted.pt',
      config: 'micro_batching:\n  micro_batch_size: 2\n  parallelism:\n    preprocess: 2\n    inference: 1\n    postprocess: 2\n',
    },
    register: BATCH_OF_FOUR,
    steps: [together([json({ x: [1, 0, 0] }), json({ x: [0, 1, 0] }), json({ x: [0, 0, 1] }), json({ x: [1, 1, 1] })])],
  },
  {
    name: 'describe_handle',
    covers: "a handler's describe_handle, through describe ?customized=true",
    archive: { handler: 'describe_handler.py' },
    steps: [{ send: { api: 'management', method: 'GET', path: '/models/{model}?customized=true' } }, predict({ text: 'x', contentType: 'text/plain' })],
  },
  {
    name: 'streaming',
    covers: 'send_intermediate_predict_response: three chunks and the last answer of one response',
    archive: { handler: 'stream_handler.py' },
    steps: [predict({ text: 'hello', contentType: 'text/plain' })],
  },
  {
    name: 'status_and_headers',
    covers: "a handler's own status codes, reason phrases, content types and headers",
    archive: { handler: 'response_handler.py' },
    steps: [
      predict(json({ status: 599, phrase: 'Custom failure', text: 'custom body' })),
      predict(json({ status: 201, phrase: 'Made', content_type: 'text/csv', headers: { 'x-custom': 'one' }, text: 'a,b\n1,2\n' })),
      predict(json({ status: 404, text: 'nothing here' })),
      predict(json({ headers: { 'x-first': '1', 'x-second': 'two' }, text: 'plain' })),
    ],
  },
  {
    name: 'iris',
    covers: "the repository's iris example (a class handler, standard library only): rows, a list of rows, a refused row",
    archive: { handler: 'iris_handler.py', serializedFile: 'iris_weights.json' },
    steps: [
      predict(json({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 })),
      predict(json([[6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]])),
      predict(json({ sepal_length: 'long' })),
      predict(json([5.1, 3.5, 1.4, 0.2]), { describe: 'True' }),
      { send: { api: 'metrics', method: 'GET', path: '/metrics', lines: /^(# (HELP|TYPE) )?ts_inference_requests_total\b.*model_name="iris"|^# (HELP|TYPE) ts_inference_requests_total/ } },
    ],
  },
  {
    name: 'management',
    covers: 'scaling to 2 workers and its describe, list, set-default, ping, and the 404s of an unknown version, model and archive',
    archive: { handler: 'describe_handler.py' },
    steps: [
      manage('GET', '/models/{model}/2.0'),
      manage('PUT', '/models/{model}?min_worker=2&max_worker=2&synchronous=true'),
      manage('GET', '/models/{model}'),
      manage('GET', '/models'),
      manage('PUT', '/models/{model}/1.0/set-default'),
      manage('POST', '/models?url=missing.mar'),
      { send: { api: 'inference', method: 'GET', path: '/ping' } },
      { send: { api: 'inference', method: 'POST', path: '/predictions/missing', body: { text: 'x', contentType: 'text/plain' } } },
      predict({ text: 'x', contentType: 'text/plain' }),
    ],
  },
  {
    name: 'batching',
    covers: 'batch_size 4: four requests answered from one batch, each with its own answer',
    archive: { handler: 'batch_echo_handler.py' },
    register: BATCH_OF_FOUR,
    steps: [together([json({ n: 1 }), json({ n: 2 }), json({ n: 3 }), json({ n: 4 })])],
  },
  {
    name: 'stateful_sequence',
    covers:
      'sequence batching (model-config.yaml sequenceBatching, 2 workers) with our running_total handler: two interleaved sequences started by the server (ts_request_sequence_id), then one ended',
    archive: {
      handler: 'test/fixtures/user-handlers/running_total/handler.py',
      config: 'sequenceBatching: true\nminWorkers: 2\nmaxWorkers: 2\nbatchSize: 4\nmaxNumSequence: 4\nmaxSequenceJobQueueSize: 10\nsequenceMaxIdleMSec: 5000\nhandler:\n  cache: {capacity: 4}\n',
    },
    register: 'initial_workers=2',
    steps: [
      sequenced('1', 'a'),
      sequenced('2', 'b'),
      sequenced('3', 'a', { ts_request_sequence_id: '{sequence:a}' }),
      sequenced('4', 'b', { ts_request_sequence_id: '{sequence:b}' }),
      sequenced('5', 'a', { ts_request_sequence_id: '{sequence:a}' }),
      sequenced('6', 'b', { ts_request_sequence_id: '{sequence:b}' }),
      sequenced('7', 'a', { ts_request_sequence_id: '{sequence:a}', ts_request_sequence_end: 'true' }),
      sequenced('10', 'b', { ts_request_sequence_id: '{sequence:b}' }),
    ],
  },
  {
    name: 'custom_metrics',
    covers:
      "our image_metrics handler (test/fixtures/user-handlers) on MobileNetV3-Small: context.metrics' get_metric, add_metric_to_cache, add_metric, add_size, add_counter, add_time, add_percent with its metrics.yaml (the suite's metrics_config) and model_metrics_auto_detect; then the model's metric lines on /metrics, times masked",
    archive: { handler: 'test/fixtures/user-handlers/image_metrics/handler.py', serializedFile: 'mobilenet.pth', modelFile: 'mobilenet_classifier.py' },
    steps: [
      predict(image),
      predict(image),
      {
        send: {
          api: 'metrics',
          method: 'GET',
          path: '/metrics',
          // The families' HELP and TYPE lines, and their samples but those of other models (every model has a HandlerTime and a PredictionTime).
          lines: new RegExp(`^# (HELP|TYPE) ${CUSTOM_FAMILIES} |^${CUSTOM_FAMILIES}(_bucket|_count|_sum)?\\{(?!.*ModelName="(?!custom_metrics"))`),
          times: /^(HandlerTime|PredictionTime|StageTime)\{/,
          byFamily: true,
        },
      },
    ],
  },
  {
    name: 'stateful_continuous',
    covers:
      'continuous batching (model-config.yaml continuousBatching, 2 workers, maxNumSequence 2) with our streaming_total handler: two interleaved server-started sequences, a streamed reply (its chunks assembled), both ended',
    archive: {
      handler: 'test/fixtures/user-handlers/streaming_total/handler.py',
      config:
        'sequenceBatching: true\ncontinuousBatching: true\nminWorkers: 2\nmaxWorkers: 2\nbatchSize: 1\nmaxNumSequence: 2\nmaxSequenceJobQueueSize: 10\nsequenceMaxIdleMSec: 30000\nsequenceTimeoutMSec: 60000\nhandler:\n  cache: {capacity: 4}\n',
    },
    register: 'initial_workers=2',
    steps: [
      sequenced('2', 'a'),
      sequenced('4', 'b'),
      sequenced('6', 'a', { ts_request_sequence_id: '{sequence:a}' }),
      // Odd: a stream of the total, then the total again once a second, ten more times.
      sequenced('3', 'b', { ts_request_sequence_id: '{sequence:b}' }),
      sequenced('0', 'a', { ts_request_sequence_id: '{sequence:a}' }),
      sequenced('10', 'b', { ts_request_sequence_id: '{sequence:b}' }),
      sequenced('0', 'b', { ts_request_sequence_id: '{sequence:b}' }),
    ],
  },
];
