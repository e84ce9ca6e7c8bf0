// The Helm chart (deploy/helm/lantern), rendered by a real helm v4 with each values file in ci/:
// lint clean, hardened pods (non-root, read-only root file system, no capabilities), probes on
// /readyz and /livez, the five Service ports, a PDB over the pods, a ServiceMonitor when the
// cluster has the Prometheus Operator, TorchServe's chart keys as aliases, and values that
// cannot work refused with a message.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../config/load-config.js';
import { at, CHART_DIR, chartValues, helm, only, propertiesOf, renderChart, type Manifest } from './helm-render.js';

const VALUES = ['default', 'torchserve-aliases', 's3', 'hpa', 'keda', 'init-container'] as const;
const MONITORING = ['--api-versions', 'monitoring.coreos.com/v1'];

interface Container {
  readonly name: string;
  readonly securityContext?: Record<string, unknown>;
  readonly ports?: Array<{ name: string; containerPort: number }>;
  readonly volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string }>;
  readonly [field: string]: unknown;
}

const podSpec = (deployment: Manifest): Record<string, unknown> => at(deployment, 'spec', 'template', 'spec') as Record<string, unknown>;
const containersOf = (deployment: Manifest): Container[] => [
  ...((podSpec(deployment).initContainers as Container[] | undefined) ?? []),
  ...(podSpec(deployment).containers as Container[]),
];
const lantern = (deployment: Manifest): Container => (podSpec(deployment).containers as Container[]).find((c) => c.name === 'lantern') as Container;

function assertHardened(deployment: Manifest, values: string): void {
  const pod = podSpec(deployment);
  assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true, `${values}: pod runAsNonRoot`);
  assert.equal(at(pod, 'securityContext', 'runAsUser'), 1000, `${values}: pod runAsUser`);
  assert.equal(pod.automountServiceAccountToken, false, `${values}: no service account token`);
  for (const c of containersOf(deployment)) {
    const sc = c.securityContext ?? {};
    assert.equal(sc.runAsNonRoot, true, `${values}/${c.name}: runAsNonRoot`);
    assert.equal(sc.runAsUser, 1000, `${values}/${c.name}: runAsUser`);
    assert.equal(sc.readOnlyRootFilesystem, true, `${values}/${c.name}: readOnlyRootFilesystem`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${values}/${c.name}: allowPrivilegeEscalation`);
    assert.deepEqual(at(sc, 'capabilities', 'drop'), ['ALL'], `${values}/${c.name}: drop ALL`);
  }
}

function assertProbes(deployment: Manifest, values: string): void {
  const c = lantern(deployment);
  const inference = c.ports?.find((p) => p.name === 'inference');
  assert.ok(inference !== undefined, `${values}: an inference container port`);
  for (const [probe, pathExpected] of [
    ['readinessProbe', '/readyz'],
    ['livenessProbe', '/livez'],
    ['startupProbe', '/livez'],
  ] as const) {
    assert.equal(at(c, probe, 'httpGet', 'path'), pathExpected, `${values}: ${probe} path`);
    assert.equal(at(c, probe, 'httpGet', 'port'), 'inference', `${values}: ${probe} on the inference port`);
  }
}

function assertService(manifests: readonly Manifest[], deployment: Manifest, values: string, expectedPorts: readonly number[]): void {
  const service = only(manifests, 'Service');
  const ports = at(service, 'spec', 'ports') as Array<{ name: string; port: number; targetPort: string }>;
  assert.deepEqual(
    ports.map((p) => p.port),
    expectedPorts,
    `${values}: the five Service ports`,
  );
  const containerPorts = new Set((lantern(deployment).ports ?? []).map((p) => p.name));
  for (const p of ports) assert.ok(containerPorts.has(p.targetPort), `${values}: Service port ${p.name} targets a container port`);
  const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
  for (const [k, v] of Object.entries(at(service, 'spec', 'selector') as Record<string, string>)) assert.equal(podLabels[k], v, `${values}: Service selects the pods`);
  const pdb = only(manifests, 'PodDisruptionBudget');
  assert.equal(at(pdb, 'spec', 'maxUnavailable'), 1, `${values}: PDB`);
  for (const [k, v] of Object.entries(at(pdb, 'spec', 'selector', 'matchLabels') as Record<string, string>)) assert.equal(podLabels[k], v, `${values}: PDB selects the pods`);
}

function configProperties(manifests: readonly Manifest[]): Map<string, string> {
  return propertiesOf(at(only(manifests, 'ConfigMap'), 'data', 'config.properties') as string);
}

describe('the Helm chart', () => {
  it('passes helm lint with every values file', async () => {
    for (const values of VALUES) {
      const result = await helm(['lint', CHART_DIR, '--values', chartValues(values)]);
      assert.equal(result.code, 0, `helm lint with ${values}:\n${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders hardened pods, probes on /readyz and /livez, five Service ports and a PDB with every values file', async () => {
    for (const values of VALUES) {
      const manifests = await renderChart([values], MONITORING);
      const deployment = only(manifests, 'Deployment');
      assertHardened(deployment, values);
      assertProbes(deployment, values);
      assertService(manifests, deployment, values, [8080, 8081, 8082, 7070, 7071]);
      const props = configProperties(manifests);
      assert.equal(props.get('metrics_mode'), 'prometheus', `${values}: metrics_mode`);
      assert.equal(props.get('inference_address'), 'http://0.0.0.0:8080', `${values}: listeners bind 0.0.0.0`);
      const monitor = only(manifests, 'ServiceMonitor');
      assert.deepEqual(at(monitor, 'spec', 'endpoints', 0, 'port'), 'metrics');
      const mounts = lantern(deployment).volumeMounts ?? [];
      assert.equal(mounts.find((m) => m.name === 'config')?.readOnly, true, `${values}: config mounted read-only`);
      assert.ok(mounts.some((m) => m.name === 'scratch'), `${values}: a writable scratch volume for logs and temp files`);
    }
  });

  it('renders TorchServe chart values unchanged: image, ports, replicas, claim and limits', async () => {
    const manifests = await renderChart(['torchserve-aliases']);
    const deployment = only(manifests, 'Deployment');
    const c = lantern(deployment);
    assert.equal(c.image, 'pytorch/torchserve:latest-gpu');
    assert.equal(at(deployment, 'spec', 'replicas'), 2);
    assert.equal(at(podSpec(deployment), 'volumes', 2, 'persistentVolumeClaim', 'claimName'), 'efs-claim');
    assert.equal(c.volumeMounts?.find((m) => m.name === 'model-store')?.subPath, 'model-store', "TorchServe's layout of the volume");
    assert.equal(at(c, 'resources', 'limits', 'cpu'), '16');
    assert.equal(at(c, 'resources', 'limits', 'memory'), '32Gi');
    assert.equal(at(c, 'resources', 'limits', 'nvidia.com/gpu'), 4);

    const moved = await renderChart(['torchserve-aliases'], ['--set', 'torchserve.inference_port=9080,torchserve.grpc_management_port=9071,deployment.replicas=3']);
    const service = only(moved, 'Service');
    assert.deepEqual(
      (at(service, 'spec', 'ports') as Array<{ port: number }>).map((p) => p.port),
      [9080, 8081, 8082, 7070, 9071],
    );
    assert.equal(configProperties(moved).get('inference_address'), 'http://0.0.0.0:9080');
    assert.equal(configProperties(moved).get('grpc_management_port'), '9071');
    assert.equal(at(only(moved, 'Deployment'), 'spec', 'replicas'), 3);
  });

  it('shares one key file among replicas through a Secret, or turns tokens off when told', async () => {
    const manifests = await renderChart(['default']);
    const secret = only(manifests, 'Secret');
    const keys = JSON.parse(at(secret, 'stringData', 'key_file.json') as string) as Record<string, { key: string }>;
    for (const api of ['inference', 'management', 'API']) assert.match(keys[api]?.key ?? '', /^[A-Za-z0-9]{43}$/, `${api} key`);
    const props = configProperties(manifests);
    assert.equal(props.get('disable_token_authorization'), 'false');
    assert.equal(props.get('token_key_file'), '/etc/lantern/keys/key_file.json');
    const keyMount = (lantern(only(manifests, 'Deployment')).volumeMounts ?? []).find((m) => m.name === 'keys');
    assert.equal(keyMount?.readOnly, true);

    const open = await renderChart(['init-container']);
    assert.equal(open.filter((m) => m.kind === 'Secret').length, 0);
    assert.equal(configProperties(open).get('disable_token_authorization'), 'true');
  });

  it('takes the model store from a PVC, from s3:// URLs with a credentials Secret, or from an init container', async () => {
    const pvc = only(await renderChart(['default']), 'Deployment');
    assert.equal(at(podSpec(pvc), 'volumes', 2, 'persistentVolumeClaim', 'claimName'), 'lantern-model-store');
    assert.equal(lantern(pvc).volumeMounts?.find((m) => m.name === 'model-store')?.readOnly, true);
    assert.equal(lantern(pvc).volumeMounts?.find((m) => m.name === 'model-store')?.subPath, undefined);

    const s3 = await renderChart(['s3']);
    const s3Pod = only(s3, 'Deployment');
    assert.equal(at(lantern(s3Pod), 'envFrom', 0, 'secretRef', 'name'), 'lantern-s3-credentials');
    assert.equal(configProperties(s3).get('load_models'), 'iris=s3://models.example/iris.mar,digits=s3://models.example/digits.tar.gz');
    // Read by Lantern's own loader (Java properties escapes): the startup models' bucket is allowed, exactly.
    const { config } = loadConfig({ fileText: at(only(s3, 'ConfigMap'), 'data', 'config.properties') as string, cli: {}, env: {} });
    const allowed = (url: string): boolean => config.allowed_urls.some((re) => re.test(url));
    assert.ok(allowed('s3://models.example/iris.mar') && allowed('s3://my-registry/x.mar'));
    assert.ok(!allowed('s3://modelsXexample/iris.mar') && !allowed('s3://other/iris.mar'));
    assert.ok(at(podSpec(s3Pod), 'volumes', 2, 'emptyDir') !== undefined, 'downloads go to an empty volume');

    const init = only(await renderChart(['init-container']), 'Deployment');
    assert.equal(at(podSpec(init), 'initContainers', 0, 'image'), 'busybox:1.36');
    assert.equal(at(podSpec(init), 'initContainers', 0, 'volumeMounts', 0, 'mountPath'), '/home/model-server/model-store');
  });

  it('leaves the ServiceMonitor out when the cluster has no Prometheus Operator', async () => {
    const manifests = await renderChart(['default']);
    assert.equal(manifests.filter((m) => m.kind === 'ServiceMonitor').length, 0);
  });

  it('refuses values that cannot work, saying why', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--set', 'modelStore.source=s3'], /credentialsSecret/],
      [['--set', 'config.properties.metrics_mode=log'], /metrics_mode=prometheus/],
      [['--set', 'autoscaling.enabled=true'], /autoscaling\.model/],
      [['--set', 'autoscaling.enabled=true,autoscaling.model=iris,autoscaling.metric=QueueTime'], /autoscaling\.metric/],
      [['--set', 'modelStore.source=nfs'], /modelStore\.source/],
      [['--set', 'auth.inferenceKey=short'], /inference key must have at least 16 characters/],
    ];
    for (const [args, message] of cases) {
      const result = await helm(['template', 'demo', CHART_DIR, ...args]);
      assert.notEqual(result.code, 0, `${args.join(' ')} must fail`);
      assert.match(result.stderr, message);
    }
  });
});
