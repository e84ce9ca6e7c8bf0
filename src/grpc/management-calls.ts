// ManagementAPIsService (spec §11.3) on top of the same ManagementService as REST: the same
// messages in ManagementResponse.msg, gRPC's own defaults (an empty string or a number <= 0 is
// "not given"; register and scale are asynchronous unless asked), errors through one table.
import { randomUUID } from 'node:crypto';
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { isServeError, grpcModelApiDisabled } from '../errors.js';
import type { ManagementService } from '../services/management-service.js';
import { asServeError, grpcStatusOf } from './grpc-status.js';

export interface ManagementCallDeps {
  readonly management: ManagementService;
  readonly logError: (message: string, cause: unknown) => void;
}

interface DescribeModelRequest { readonly model_name: string; readonly model_version: string; readonly customized: boolean }
interface ListModelsRequest { readonly limit: number; readonly next_page_token: number }
interface RegisterModelRequest {
  readonly batch_size: number;
  readonly handler: string;
  readonly initial_workers: number;
  readonly max_batch_delay: number;
  readonly model_name: string;
  readonly response_timeout: number;
  readonly runtime: string;
  readonly synchronous: boolean;
  readonly url: string;
  readonly s3_sse_kms: boolean;
  readonly startup_timeout: number;
}
interface ScaleWorkerRequest {
  readonly model_name: string;
  readonly model_version: string;
  readonly max_worker: number;
  readonly min_worker: number;
  readonly synchronous: boolean;
}
interface ModelVersionRequest { readonly model_name: string; readonly model_version: string }

const given = (value: string): string | null => (value === '' ? null : value);
const positive = (value: number): number | null => (value > 0 ? value : null);
/** Gson's pretty printing, which TorchServe's gRPC answers use (no trailing newline). */
const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

type UnaryHandler<Req> = (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>) => void;

/** Runs `answer` and replies with `{msg}`, or with the mapped status of whatever it threw. */
function unary<Req>(logError: ManagementCallDeps['logError'], answer: (req: Req) => Promise<string> | string): UnaryHandler<Req> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => answer(call.request))
      .then(
        (msg) => callback(null, { msg }),
        (err: unknown) => callback(grpcStatusOf(asServeError(err, logError))),
      );
  };
}

/** The service refuses with 405 when model API control is off; gRPC says PERMISSION_DENIED (spec §4). */
async function whenModelApiEnabled<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (err) {
    if (isServeError(err) && err.code === 'MODEL_API_DISABLED') throw grpcModelApiDisabled();
    throw err;
  }
}

export function managementCalls(deps: ManagementCallDeps): UntypedServiceImplementation {
  const { management, logError } = deps;
  return {
    DescribeModel: unary<DescribeModelRequest>(logError, async (req) => {
      const version = given(req.model_version);
      if (req.customized && version !== 'all') {
        const described = await management.describeCustomized(req.model_name, version, [], randomUUID());
        return pretty(described.models);
      }
      return pretty(await management.describe(req.model_name, version));
    }),

    // proto3 cannot tell an unset limit from 0; Lantern reads 0 as "not given" (100), see docs/compatibility.md.
    ListModels: unary<ListModelsRequest>(logError, (req) => pretty(management.list(positive(req.limit), req.next_page_token))),

    RegisterModel: unary<RegisterModelRequest>(logError, async (req) => {
      const outcome = await whenModelApiEnabled(() =>
        management.register({
          url: given(req.url),
          modelName: given(req.model_name),
          handler: given(req.handler),
          runtime: given(req.runtime),
          requested: {
            batchSize: positive(req.batch_size),
            maxBatchDelayMs: positive(req.max_batch_delay),
            responseTimeoutSec: positive(req.response_timeout),
            startupTimeoutSec: positive(req.startup_timeout),
            initialWorkers: positive(req.initial_workers),
          },
          synchronous: req.synchronous,
          s3SseKms: req.s3_sse_kms,
        }),
      );
      return outcome.message;
    }),

    ScaleWorker: unary<ScaleWorkerRequest>(logError, async (req) => {
      const version = given(req.model_version);
      const minWorker = positive(req.min_worker) ?? 1;
      const outcome = await management.scale({
        name: req.model_name,
        version,
        versionInPath: version !== null,
        minWorker,
        maxWorker: positive(req.max_worker) ?? minWorker,
        synchronous: req.synchronous,
      });
      return outcome.message;
    }),

    SetDefault: unary<ModelVersionRequest>(logError, async (req) => (await management.setDefault(req.model_name, req.model_version)).message),

    UnregisterModel: unary<ModelVersionRequest>(logError, async (req) => {
      const outcome = await whenModelApiEnabled(() => management.unregister(req.model_name, given(req.model_version)));
      return outcome.message;
    }),
  };
}
