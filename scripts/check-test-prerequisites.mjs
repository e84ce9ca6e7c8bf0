#!/usr/bin/env node
// Run by `npm test` before anything else: checks that what the tests need is installed, and when
// something is missing names each missing piece and says to run ./scripts/test-setup, so that a
// fresh machine gets one clear message instead of a stack of unrelated test failures.
// Keep this list in step with scripts/test-setup (which installs each of these).
// LANTERN_BENCH_TORCHSERVE points at another TorchServe, as it does for the benchmark.
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// Debian's python3-torch imports only under Debian's own interpreter; the tests use it by this path.
const TORCH_PYTHON = '/usr/bin/python3';
// LANTERN_OIP_CLIENTS points at another virtual environment of the Open Inference clients.
const OIP_CLIENTS = process.env.LANTERN_OIP_CLIENTS ?? path.join(ROOT, 'bench', '.cache', 'oip-clients');
const TORCHSERVE = process.env.LANTERN_BENCH_TORCHSERVE ?? path.join(ROOT, 'bench', '.cache', 'torchserve', 'bin', 'torchserve');

/** Resolves with true when the command exits 0 within the time limit. */
function succeeds(command, args) {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000 }, (err) => resolve(err === null));
  });
}

const fileExists = (file, mode = constants.F_OK) =>
  access(file, mode).then(
    () => true,
    () => false,
  );

/** Resolves with the command's standard output when it exits 0 within the time limit, else null. */
function outputOf(command, args) {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 120_000 }, (err, stdout) => resolve(err === null ? stdout : null));
  });
}

const pythonImports = (python, modules) => succeeds(python, ['-c', `import ${modules.join(', ')}`]);

/** Each prerequisite: what it is, who needs it, and how to tell it is there. */
const PREREQUISITES = [
  { name: 'node_modules (npm ci)', usedBy: 'the build and every Node test', present: () => fileExists(path.join(ROOT, 'node_modules', '.bin', 'tsc')) },
  { name: 'python3 on the PATH', usedBy: 'the Python worker and its tests', present: () => succeeds('python3', ['--version']) },
  { name: 'pytest (python3 -m pytest)', usedBy: 'the Python worker tests', present: () => pythonImports('python3', ['pytest']) },
  {
    name: 'torch-model-archiver 0.12.0 (python3 -m model_archiver)',
    usedBy: 'the archive comparison tests',
    present: () => pythonImports('python3', ['model_archiver.model_packaging']),
  },
  { name: "moto[server] and boto3 (python3)", usedBy: 'the S3 model-source tests', present: () => pythonImports('python3', ['boto3', 'moto.server']) },
  { name: 'grpcio and grpcio-tools (python3)', usedBy: 'the Python gRPC client test', present: () => pythonImports('python3', ['grpc', 'grpc_tools.protoc']) },
  {
    name: `torch, torchvision and PIL under ${TORCH_PYTHON} (Debian's python3-torch, python3-torchvision)`,
    usedBy: 'the PyTorch handler tests',
    present: () => pythonImports(TORCH_PYTHON, ['torch', 'torchvision', 'PIL']),
  },
  {
    name: `lru and yaml under ${TORCH_PYTHON} (Debian's python3-lru-dict, python3-yaml)`,
    usedBy: "the stateful handlers of src/e2e/stateful.e2e.test.ts; ts.metrics' MetricsCacheYamlImpl compared with TorchServe's",
    present: () => pythonImports(TORCH_PYTHON, ['lru', 'yaml']),
  },
  { name: 'promtool (Debian package prometheus)', usedBy: 'the /metrics exposition test', present: () => succeeds('promtool', ['--version']) },
  { name: 'openssl', usedBy: 'the TLS tests (throw-away certificates)', present: () => succeeds('openssl', ['version']) },
  { name: 'curl', usedBy: "the README's examples (src/e2e/readme.e2e.test.ts)", present: () => succeeds('curl', ['--version']) },
  { name: "chromium (Debian's, /usr/bin/chromium)", usedBy: 'the browser console test (src/e2e/console.e2e.test.ts)', present: () => succeeds('/usr/bin/chromium', ['--version']) },
  { name: 'java (Java 11 or later)', usedBy: "TorchServe's front end in the benchmark smoke test", present: () => succeeds('java', ['-version']) },
  { name: 'podman, runc and mmdebstrap', usedBy: 'the container image tests', present: async () => (await succeeds('podman', ['--version'])) && (await succeeds('runc', ['--version'])) && (await succeeds('mmdebstrap', ['--version'])) },
  { name: 'haproxy', usedBy: 'the rolling-restart test behind a load balancer', present: () => succeeds('haproxy', ['-v']) },
  {
    name: '/etc/containers/containers.conf with default_ulimits = [] and the base image node:20-bookworm-slim (docker/make-base-image)',
    usedBy: 'the container image tests',
    present: () => succeeds('podman', ['--runtime', 'runc', 'image', 'exists', 'docker.io/library/node:20-bookworm-slim']),
  },
  {
    name: `tritonclient[http,grpc] 2.73.0 and kserve 0.21.0 in ${path.relative(ROOT, OIP_CLIENTS) || OIP_CLIENTS} (scripts/setup-oip-clients.sh)`,
    usedBy: 'the Open Inference and KServe client tests',
    // The two SDKs register the same protobuf names: one process each.
    present: async () =>
      (await pythonImports(path.join(OIP_CLIENTS, 'bin', 'python'), ['tritonclient.http', 'tritonclient.grpc'])) &&
      (await pythonImports(path.join(OIP_CLIENTS, 'bin', 'python'), ['kserve'])),
  },
  {
    name: `TorchServe 0.12.0 with captum in ${path.relative(ROOT, TORCHSERVE) || TORCHSERVE} (bench/setup-torchserve.sh; captum needs Debian's python3-matplotlib)`,
    usedBy: 'the benchmark smoke test (its cnn rows run TorchServe\'s image_classifier) and the conformance suite, beside Lantern',
    present: async () =>
      (await fileExists(TORCHSERVE, constants.X_OK)) && pythonImports(path.join(path.dirname(TORCHSERVE), 'python'), ['ts', 'captum.attr']),
  },
  {
    name: 'helm v4.3.2 (go install helm.sh/helm/v4/cmd/helm@v4.3.2)',
    usedBy: 'the Helm chart and deploy/ metrics tests (src/e2e/helm-chart, deploy-metrics)',
    present: async () => /Version:"v4\.3(\.2)?"/.test((await outputOf('helm', ['version'])) ?? ''),
  },
];

const results = await Promise.all(PREREQUISITES.map(async (p) => ({ ...p, ok: await p.present() })));
const missing = results.filter((r) => !r.ok);
if (missing.length > 0) {
  const lines = [
    `npm test: ${missing.length} prerequisite${missing.length === 1 ? ' is' : 's are'} missing:`,
    ...missing.map((m) => `  - ${m.name}: needed by ${m.usedBy}`),
    'Install them with ./scripts/test-setup (as root: it uses apt-get and pip), then run npm ci && npm test.',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}
