// InferenceAPIsService (spec §11.2) on top of the same InferenceService as REST /predictions.
// Worker replies arrive through a ReplySink: intermediate ones (`ts_stream_next: true`, spec §2.6)
// become stream messages; a failure ends the call (or, in StreamPredictions2, the request) with a
// status, so no call is left waiting.
import { randomUUID } from 'node:crypto';
import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { parameterRequired, responseTooLarge, serverStopping, type ServeError } from '../errors.js';
import type { InferenceService, ReplySink } from '../services/inference-service.js';
import type { HeaderList, InferenceRequest } from '../protocol/messages.js';
import { asServeError, grpcStatusOf, rpcStatusOf, type RpcStatusMessage } from './grpc-status.js';

export interface PredictionsRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly input: Readonly<Record<string, Buffer>>;
  readonly sequence_id?: string;
}

export interface PredictionResponse {
  readonly prediction?: Buffer;
  readonly sequence_id?: string;
  readonly status?: RpcStatusMessage;
}

export interface InferenceCallDeps {
  readonly inference: InferenceService;
  /** Bound on a unary Predictions answer assembled from streamed chunks. */
  readonly maxResponseBytes: number;
  readonly logError: (message: string, cause: unknown) => void;
  /** Aborted when the server stops accepting calls: open StreamPredictions2 calls then end. */
  readonly stopping: AbortSignal;
}

// Header names TorchServe uses for sequences (its defaults for ts_header_key_sequence_*).
export const SEQUENCE_ID_HEADER = 'ts_request_sequence_id';
export const SEQUENCE_START_HEADER = 'ts_request_sequence_start';
export const SEQUENCE_END_HEADER = 'ts_request_sequence_end';
const SEQUENCE_CONTROL_INPUTS = [SEQUENCE_START_HEADER, SEQUENCE_END_HEADER];

/**
 * Queues one prediction; throws a ServeError when the request cannot be queued. Returns a withdraw
 * function. Inputs named in `controlInputs` became headers and are not passed on as parameters.
 */
function submit(deps: InferenceCallDeps, req: PredictionsRequest, headers: HeaderList, sink: ReplySink, controlInputs: readonly string[] = []): () => void {
  if (req.model_name === '') throw parameterRequired('model_name');
  const request: InferenceRequest = {
    requestId: randomUUID(),
    headers,
    parameters: Object.entries(req.input)
      .filter(([name]) => !controlInputs.includes(name))
      .map(([name, value]) => ({ name, contentType: '', value })),
  };
  return deps.inference.submit(req.model_name, req.model_version === '' ? null : req.model_version, request, sink);
}

function ping(deps: InferenceCallDeps, _call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void {
  // TorchServe answers OK either way and puts the verdict in the text.
  callback(null, { health: JSON.stringify({ status: deps.inference.ping() }, null, 2) });
}

/** Unary: one answer. Chunks of a streaming handler are joined, up to max_response_size. */
function predictions(deps: InferenceCallDeps, call: ServerUnaryCall<PredictionsRequest, PredictionResponse>, callback: sendUnaryData<PredictionResponse>): void {
  let answered = false;
  const chunks: Buffer[] = [];
  let sizeBytes = 0;
  const fail = (error: ServeError): void => {
    if (answered) return;
    answered = true;
    callback(grpcStatusOf(error));
  };
  try {
    const withdraw = submit(deps, call.request, [], {
      reply: (entry, last) => {
        if (answered) return;
        chunks.push(entry.body);
        sizeBytes += entry.body.length;
        if (sizeBytes > deps.maxResponseBytes) {
          fail(responseTooLarge(sizeBytes));
        } else if (last) {
          answered = true;
          callback(null, { prediction: chunks.length === 1 ? entry.body : Buffer.concat(chunks) });
        }
      },
      fail,
    });
    call.once('cancelled', () => {
      answered = true;
      withdraw();
    });
  } catch (err) {
    fail(asServeError(err, deps.logError));
  }
}

/** Server stream: one message per worker reply; ends OK on the final reply, with a status on failure. */
function streamPredictions(deps: InferenceCallDeps, call: ServerWritableStream<PredictionsRequest, PredictionResponse>): void {
  let ended = false;
  const end = (error: ServeError | null): void => {
    if (ended) return;
    ended = true;
    if (error === null) call.end();
    else call.emit('error', grpcStatusOf(error));
  };
  try {
    const withdraw = submit(deps, call.request, [], {
      reply: (entry, last) => {
        if (ended) return;
        call.write({ prediction: entry.body });
        if (last) end(null);
      },
      fail: end,
    });
    call.once('cancelled', () => {
      ended = true;
      withdraw();
    });
  } catch (err) {
    end(asServeError(err, deps.logError));
  }
}

const isTrue = (value: Buffer | undefined): boolean => value !== undefined && value.toString('utf8').trim().toLowerCase() === 'true';

/**
 * The sequence a StreamPredictions2 request belongs to, as headers for the handler. A request
 * without sequence_id starts a new sequence when its input `ts_request_sequence_start` is "true";
 * an input `ts_request_sequence_end` of "true" marks the last request of a sequence.
 */
export function sequenceOf(req: PredictionsRequest): { readonly id: string; readonly headers: HeaderList } {
  const starting = isTrue(req.input[SEQUENCE_START_HEADER]);
  let id = req.sequence_id ?? '';
  if (id === '') {
    if (!starting) throw parameterRequired('sequenceId');
    id = `ts-seq-${randomUUID()}`;
  }
  const headers: Array<readonly [string, string]> = [[SEQUENCE_ID_HEADER, id]];
  if (starting) headers.push([SEQUENCE_START_HEADER, 'true']);
  if (isTrue(req.input[SEQUENCE_END_HEADER])) headers.push([SEQUENCE_END_HEADER, 'true']);
  return { id, headers };
}

/**
 * Bidirectional: requests are served one after another in arrival order (reading pauses while
 * one is in flight, so HTTP/2 flow control bounds what a client can queue). Each reply chunk is a
 * message carrying the request's sequence_id; a failed request is answered in-band with `status`
 * and the call goes on. The call ends once the client has half-closed and every request is answered,
 * or with UNAVAILABLE after the request in flight when the server stops.
 */
/** Sequences a StreamPredictions2 call remembers, to end them when it closes (beyond, they idle out). */
const CALL_SEQUENCES_KEPT = 256;

function streamPredictions2(deps: InferenceCallDeps, call: ServerDuplexStream<PredictionsRequest, PredictionResponse>): void {
  // Closing the stream ends the sequences its messages named (a stateful model's; no-op otherwise).
  const sequences = new Map<string, { readonly model: string; readonly version: string | null; readonly id: string }>();
  const endSequences = (): void => {
    for (const s of sequences.values()) deps.inference.endSequence(s.model, s.version, s.id);
    sequences.clear();
  };
  let inFlight = false;
  let inputEnded = false;
  let cancelled = false;
  let stopped = false;
  let ended = false;
  let withdraw: (() => void) | null = null;

  const endCall = (): void => {
    deps.stopping.removeEventListener('abort', onStop);
    if (cancelled || ended) return;
    ended = true;
    endSequences();
    if (inputEnded) call.end();
    else call.emit('error', grpcStatusOf(serverStopping()));
  };
  function onStop(): void {
    stopped = true;
    if (!inFlight) endCall();
  }
  const finished = (): void => {
    inFlight = false;
    withdraw = null;
    if (inputEnded || stopped) endCall();
    else if (!cancelled) call.resume();
  };

  const serve = (req: PredictionsRequest): void => {
    inFlight = true;
    let sequenceId = req.sequence_id;
    const failRequest = (error: ServeError): void => {
      if (!cancelled) call.write({ status: rpcStatusOf(error), ...(sequenceId === undefined ? {} : { sequence_id: sequenceId }) });
      finished();
    };
    try {
      const sequence = sequenceOf(req);
      sequenceId = sequence.id;
      const key = `${req.model_name}\0${req.model_version}\0${sequence.id}`;
      if (sequences.has(key) || sequences.size < CALL_SEQUENCES_KEPT) {
        sequences.set(key, { model: req.model_name, version: req.model_version === '' ? null : req.model_version, id: sequence.id });
      }
      withdraw = submit(
        deps,
        req,
        sequence.headers,
        {
          reply: (entry, last) => {
            if (!cancelled) call.write({ prediction: entry.body, sequence_id: sequence.id });
            if (last) finished();
          },
          fail: failRequest,
        },
        SEQUENCE_CONTROL_INPUTS,
      );
    } catch (err) {
      failRequest(asServeError(err, deps.logError));
    }
  };

  call.on('data', (req: PredictionsRequest) => {
    call.pause();
    if (!stopped) serve(req);
  });
  call.once('end', () => {
    inputEnded = true;
    if (!inFlight) endCall();
  });
  call.once('cancelled', () => {
    cancelled = true;
    deps.stopping.removeEventListener('abort', onStop);
    withdraw?.();
    endSequences();
  });
  if (deps.stopping.aborted) onStop();
  else deps.stopping.addEventListener('abort', onStop);
}

export function inferenceCalls(deps: InferenceCallDeps): UntypedServiceImplementation {
  return {
    Ping: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => ping(deps, call, callback),
    Predictions: (call: ServerUnaryCall<PredictionsRequest, PredictionResponse>, callback: sendUnaryData<PredictionResponse>) =>
      predictions(deps, call, callback),
    StreamPredictions: (call: ServerWritableStream<PredictionsRequest, PredictionResponse>) => streamPredictions(deps, call),
    StreamPredictions2: (call: ServerDuplexStream<PredictionsRequest, PredictionResponse>) => streamPredictions2(deps, call),
  };
}
