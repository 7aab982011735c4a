// Renders the Kubernetes manifests (deploy/k8s) and the one-machine compose file (compose.yaml)
// from the service registry, so that a service added with `npm run new-service` is deployed,
// probed, limited and fenced by a NetworkPolicy without anyone remembering to write YAML for it.
// `npm run gen` writes them; scripts/deploy-artifacts.test.ts fails when the committed copies are
// stale. Hand-written parts (overlay tweaks, the data-store component) live beside the generated
// files only where the registry has nothing to say about them; those are generated too, from the
// tables below, so that the whole tree stays reviewable in one place.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serviceRegistry } from '@carshare/cli';
import type { AnyServiceDescriptor } from '@carshare/service-kit';
import { stringify } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '..');
const rootPackage = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

type Manifest = Record<string, unknown>;

const partOf = 'carshare';
/** The image every service runs: one bundle, the service chosen by its arguments (Dockerfile). */
const image = 'carshare';
/** The image's non-root user (Dockerfile: `USER 10001`). */
const runAsUser = 10001;
/** Where a namespace's Prometheus lives: pods there may scrape every service's /metrics. */
const monitoringNamespaceLabel = { 'carshare.dev/monitoring': 'true' };

/** The data stores a service needs, from what its descriptor declares. */
interface DataStore {
  name: string;
  port: number;
  /** The env variable the service reads its address from. */
  env: string;
}
const postgres: DataStore = { name: 'postgres', port: 5432, env: 'DATABASE_URL' };
const rabbitmq: DataStore = { name: 'rabbitmq', port: 5672, env: 'AMQP_URL' };
const redis: DataStore = { name: 'redis', port: 6379, env: 'REDIS_URL' };
const mosquitto: DataStore = { name: 'mosquitto', port: 1883, env: 'MQTT_URL' };
const objectStore: DataStore = { name: 'minio', port: 9000, env: 'S3_ENDPOINT' };
/** The gateway's operations listener (/metrics, /docs: ADR 0023), off the public port. */
const gatewayOpsPort = { name: 'ops', port: 9464 };
/**
 * Try-out credentials of the in-cluster stores (dev overlay) and compose.yaml: passwords made fresh
 * by kustomize's generator on every render would break running stores, so fixed, obviously-not-secret
 * values it is, for try-outs only (prod takes each service's own Secret).
 */
const devPassword = 'carshare-dev-only';
/** OTLP/HTTP to whatever collector the cluster runs; any address, this port only. */
const otlpPort = 4318;

/** Per-service facts the descriptor does not carry (yet): extra listeners and stores. */
const extraStores: Record<string, DataStore[]> = { gateway: [redis], car: [mosquitto], blob: [objectStore] };
/** The car service's device listener: telematics boxes connect here from outside the cluster. */
const devicePort = { name: 'mqtt', port: 1884, env: 'CAR_MQTT_PORT', hostEnv: 'CAR_MQTT_HOST' };

/** Sizes measured with `npm run bench -- memory` (idle ~30–60 MB per service, the gateway and profile more under load). */
const resources: Record<string, { cpu: string; memory: string; memoryLimit: string }> = {
  default: { cpu: '100m', memory: '128Mi', memoryLimit: '256Mi' },
  gateway: { cpu: '250m', memory: '192Mi', memoryLimit: '384Mi' },
  // OCR (tesseract.js) in a worker thread holds its model and image buffers.
  profile: { cpu: '250m', memory: '256Mi', memoryLimit: '768Mi' },
};

function resourcesOf(name: string) {
  const size = resources[name] ?? resources['default']!;
  return {
    requests: { cpu: size.cpu, memory: size.memory },
    // A CPU limit is set so a runaway instance cannot starve its neighbours on a small node; the
    // HPA scales on the request well before the limit throttles.
    limits: { cpu: '1', memory: size.memoryLimit },
  };
}

function storesOf(descriptor: AnyServiceDescriptor): DataStore[] {
  return [...(descriptor.migrationsDir ? [postgres] : []), ...(descriptor.messaging ? [rabbitmq] : []), ...(extraStores[descriptor.name] ?? [])];
}

function resourceName(service: string): string {
  return `carshare-${service}`;
}

function labels(service: string): Record<string, string> {
  return { 'app.kubernetes.io/name': service, 'app.kubernetes.io/part-of': partOf };
}

function callees(descriptor: AnyServiceDescriptor): AnyServiceDescriptor[] {
  return serviceRegistry.callees(descriptor);
}

function callers(descriptor: AnyServiceDescriptor): AnyServiceDescriptor[] {
  return serviceRegistry.all.filter((other) => other.name !== descriptor.name && callees(other).some((callee) => callee.name === descriptor.name));
}

/** `<PREFIX>_URL` for every service: where its callers find it (the Service's cluster DNS name). */
function endpointsConfigMap(): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'carshare-endpoints', labels: { 'app.kubernetes.io/part-of': partOf } },
    data: Object.fromEntries(serviceRegistry.all.map((descriptor) => [`${descriptor.envPrefix}_URL`, `http://${resourceName(descriptor.name)}:${descriptor.defaultPort}`])),
  };
}

function serviceAccount(descriptor: AnyServiceDescriptor): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: resourceName(descriptor.name), labels: labels(descriptor.name) },
    // No service talks to the Kubernetes API: no token in the pod for an attacker to find.
    automountServiceAccountToken: false,
  };
}

function deployment(descriptor: AnyServiceDescriptor): Manifest {
  const name = descriptor.name;
  const http = { name: 'http', containerPort: descriptor.defaultPort, protocol: 'TCP' };
  const ports =
    name === 'car'
      ? [http, { name: devicePort.name, containerPort: devicePort.port, protocol: 'TCP' }]
      : descriptor.edge
        ? [http, { name: gatewayOpsPort.name, containerPort: gatewayOpsPort.port, protocol: 'TCP' }]
        : [http];
  const env = [
    { name: `${descriptor.envPrefix}_HOST`, value: '0.0.0.0' },
    { name: `${descriptor.envPrefix}_PORT`, value: String(descriptor.defaultPort) },
    ...(descriptor.edge
      ? [
          { name: 'GATEWAY_OPS_HOST', value: '0.0.0.0' },
          { name: 'GATEWAY_OPS_PORT', value: String(gatewayOpsPort.port) },
        ]
      : []),
    ...(name === 'car'
      ? [
          { name: devicePort.hostEnv, value: '0.0.0.0' },
          { name: devicePort.env, value: String(devicePort.port) },
        ]
      : []),
    // Callees found through their headless Services (libs/service-kit/src/service-discovery.ts).
    { name: 'DISCOVERY', value: 'dns' },
    // Logs are JSON on stdout for the cluster's collector; the pod's name tells instances apart.
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
  const probe = (path: string, extra: Record<string, number>) => ({ httpGet: { path, port: 'http' }, ...extra });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: resourceName(name), labels: labels(name) },
    spec: {
      replicas: 2,
      revisionHistoryLimit: 5,
      selector: { matchLabels: labels(name) },
      // Surge first: an instance leaves only once its replacement is ready (readiness drains it).
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { ...labels(name), 'carshare.dev/version': 'stable' } },
        spec: {
          serviceAccountName: resourceName(name),
          automountServiceAccountToken: false,
          // SIGTERM → deregister (readiness fails), finish in-flight calls, then exit (libs/service-kit).
          terminationGracePeriodSeconds: 30,
          securityContext: { runAsNonRoot: true, runAsUser, runAsGroup: runAsUser, fsGroup: runAsUser, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name,
              image,
              imagePullPolicy: 'IfNotPresent',
              args: ['service', name],
              ports,
              env,
              envFrom: [
                { configMapRef: { name: 'carshare-endpoints' } },
                // Shared addresses of the data stores (the in-cluster component makes it; a real
                // deployment gives each service its own secret below instead).
                { secretRef: { name: 'carshare-data', optional: true } },
                // This service's own credentials: SERVICE_IDENTITY_KEY and _PUBLIC_KEYS (ADR 0012),
                // its data-store URLs with its own users, and keys such as USER_KEY_ENCRYPTION_KEY.
                // Optional here so a try-out runs with laptop keys; the prod overlay requires it.
                { secretRef: { name: `${resourceName(name)}-secrets`, optional: true } },
              ],
              startupProbe: probe('/health/live', { periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 }),
              livenessProbe: probe('/health/live', { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 }),
              readinessProbe: probe('/health/ready', { periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 }),
              resources: resourcesOf(name),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } },
              // The only writable place: OCR and upload buffers spill here, never into the image.
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }],
        },
      },
    },
  };
}

function service(descriptor: AnyServiceDescriptor): Manifest[] {
  const http: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: resourceName(descriptor.name), labels: labels(descriptor.name) },
    spec: { type: 'ClusterIP', selector: labels(descriptor.name), ports: [{ name: 'http', port: descriptor.defaultPort, targetPort: 'http', protocol: 'TCP' }] },
  };
  // Headless: its DNS name answers with every ready pod's address, which DNS discovery
  // (DISCOVERY=dns) balances over with outlier ejection, instead of one virtual IP.
  const pods: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${resourceName(descriptor.name)}-pods`, labels: labels(descriptor.name) },
    spec: { clusterIP: 'None', selector: labels(descriptor.name), ports: [{ name: 'http', port: descriptor.defaultPort, targetPort: 'http', protocol: 'TCP' }] },
  };
  if (descriptor.name !== 'car') return [http, pods];
  // Devices reach the broker from outside: an overlay turns this into a LoadBalancer.
  const devices: Manifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `${resourceName('car')}-devices`, labels: labels('car') },
    spec: { type: 'ClusterIP', selector: labels('car'), ports: [{ name: devicePort.name, port: devicePort.port, targetPort: devicePort.name, protocol: 'TCP' }] },
  };
  return [http, pods, devices];
}

function disruptionBudget(descriptor: AnyServiceDescriptor): Manifest {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: resourceName(descriptor.name), labels: labels(descriptor.name) },
    spec: { maxUnavailable: 1, selector: { matchLabels: labels(descriptor.name) } },
  };
}

function autoscaler(descriptor: AnyServiceDescriptor): Manifest {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: resourceName(descriptor.name), labels: labels(descriptor.name) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: resourceName(descriptor.name) },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
}

/**
 * Who may talk to whom: the gateway is open to clients, every other service only to the services
 * that call it (from the registry's `calls`) and to the monitoring namespace; egress only to its
 * callees, cluster DNS, its own data stores' ports and the OTLP collector.
 */
function networkPolicy(descriptor: AnyServiceDescriptor): Manifest {
  const name = descriptor.name;
  const httpPort = [{ protocol: 'TCP', port: descriptor.defaultPort }];
  const fromCallers = callers(descriptor).map((caller) => ({ podSelector: { matchLabels: labels(caller.name) } }));
  // Prometheus scrapes /metrics: on the service port, or on the gateway's operations port, which
  // is in no Service and admitted from the monitoring namespace only.
  const scrapePorts = descriptor.edge ? [{ protocol: 'TCP', port: gatewayOpsPort.port }] : httpPort;
  const ingress: Manifest[] = [
    descriptor.edge ? { ports: httpPort } : { from: fromCallers, ports: httpPort },
    { from: [{ namespaceSelector: { matchLabels: monitoringNamespaceLabel } }], ports: scrapePorts },
  ];
  if (name === 'car') ingress.push({ ports: [{ protocol: 'TCP', port: devicePort.port }] });
  const egress: Manifest[] = [
    { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
    ...callees(descriptor).map((callee) => ({ to: [{ podSelector: { matchLabels: labels(callee.name) } }], ports: [{ protocol: 'TCP', port: callee.defaultPort }] })),
    // Data stores may be in the cluster or managed outside it: the rule names ports, not hosts.
    ...storesOf(descriptor).map((store) => ({ ports: [{ protocol: 'TCP', port: store.port }] })),
    { ports: [{ protocol: 'TCP', port: otlpPort }] },
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: resourceName(name), labels: labels(name) },
    spec: { podSelector: { matchLabels: labels(name) }, policyTypes: ['Ingress', 'Egress'], ingress, egress },
  };
}

function defaultDeny(): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'carshare-default-deny', labels: { 'app.kubernetes.io/part-of': partOf } },
    spec: { podSelector: { matchLabels: { 'app.kubernetes.io/part-of': partOf } }, policyTypes: ['Ingress', 'Egress'] },
  };
}

/** A one-shot Job that applies every service's migrations before a rollout (`carshare migrate`). */
function migrateJob(): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'carshare-migrate', labels: { 'app.kubernetes.io/name': 'migrate', 'app.kubernetes.io/part-of': partOf } },
    spec: {
      backoffLimit: 6,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'migrate', 'app.kubernetes.io/part-of': partOf } },
        spec: {
          restartPolicy: 'OnFailure',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser, runAsGroup: runAsUser, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'migrate',
              image,
              args: ['migrate'],
              envFrom: [{ configMapRef: { name: 'carshare-endpoints' } }, { secretRef: { name: 'carshare-data', optional: true } }, { secretRef: { name: 'carshare-migrate-secrets', optional: true } }],
              resources: resourcesOf('default'),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

function migrateNetworkPolicy(): Manifest {
  const selector = { 'app.kubernetes.io/name': 'migrate', 'app.kubernetes.io/part-of': partOf };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'carshare-migrate', labels: selector },
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
        { ports: [{ protocol: 'TCP', port: postgres.port }] },
      ],
    },
  };
}

/** The data stores for a try-out inside the cluster (dev overlay): one instance each, no backups. */
const inClusterStores: { store: DataStore; image: string; uid: number; env?: Record<string, string>; args?: string[]; dataPath: string }[] = [
  { store: postgres, image: 'postgres:17-bookworm', uid: 999, env: { POSTGRES_USER: 'carshare', POSTGRES_DB: 'carshare', PGDATA: '/var/lib/postgresql/data/pgdata' }, dataPath: '/var/lib/postgresql/data' },
  { store: rabbitmq, image: 'rabbitmq:4.1-alpine', uid: 100, env: { RABBITMQ_DEFAULT_USER: 'carshare' }, dataPath: '/var/lib/rabbitmq' },
  { store: redis, image: 'redis:7.4-alpine', uid: 999, args: ['--save', '', '--appendonly', 'no'], dataPath: '/data' },
  { store: mosquitto, image: 'eclipse-mosquitto:2.0', uid: 1883, args: ['mosquitto', '-c', '/mosquitto-no-auth.conf'], dataPath: '/mosquitto/data' },
  { store: objectStore, image: 'quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z', uid: 1000, args: ['server', '/data'], env: { MINIO_ROOT_USER: 'carshare' }, dataPath: '/data' },
];

function inClusterStore({ store, image: storeImage, uid, env, args, dataPath }: (typeof inClusterStores)[number]): Manifest[] {
  const storeLabels = { 'app.kubernetes.io/name': store.name, 'app.kubernetes.io/part-of': partOf, 'carshare.dev/data-store': store.name };
  const password = { name: 'carshare-data-passwords', key: store.name };
  const passwordEnv: Record<string, string> = { postgres: 'POSTGRES_PASSWORD', rabbitmq: 'RABBITMQ_DEFAULT_PASS', minio: 'MINIO_ROOT_PASSWORD' };
  const passwordVariable = passwordEnv[store.name];
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: store.name, labels: storeLabels },
      spec: {
        serviceName: store.name,
        replicas: 1,
        selector: { matchLabels: storeLabels },
        template: {
          metadata: { labels: storeLabels },
          spec: {
            automountServiceAccountToken: false,
            securityContext: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: store.name,
                image: storeImage,
                ...(args ? { args } : {}),
                env: [
                  ...Object.entries(env ?? {}).map(([key, value]) => ({ name: key, value })),
                  ...(passwordVariable ? [{ name: passwordVariable, valueFrom: { secretKeyRef: password } }] : []),
                ],
                ports: [{ name: 'client', containerPort: store.port, protocol: 'TCP' }],
                readinessProbe: { tcpSocket: { port: 'client' }, periodSeconds: 5 },
                livenessProbe: { tcpSocket: { port: 'client' }, periodSeconds: 10, failureThreshold: 6 },
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                volumeMounts: [{ name: 'data', mountPath: dataPath }],
              },
            ],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: store.name, labels: storeLabels },
      spec: { type: 'ClusterIP', selector: storeLabels, ports: [{ name: 'client', port: store.port, targetPort: 'client', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: store.name, labels: storeLabels },
      spec: {
        podSelector: { matchLabels: storeLabels },
        policyTypes: ['Ingress', 'Egress'],
        // Only the services that declare this store (and the migration job, for PostgreSQL).
        ingress: [
          {
            from: [
              ...serviceRegistry.all.filter((descriptor) => storesOf(descriptor).includes(store)).map((descriptor) => ({ podSelector: { matchLabels: labels(descriptor.name) } })),
              ...(store === postgres ? [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'migrate', 'app.kubernetes.io/part-of': partOf } } }] : []),
            ],
            ports: [{ protocol: 'TCP', port: store.port }],
          },
        ],
        egress: [],
      },
    },
  ];
}

function yamlDocuments(manifests: readonly Manifest[]): string {
  return `# Generated by \`npm run gen\` from the service registry (scripts/deploy-artifacts.ts); do not edit.\n${manifests.map((manifest) => stringify(manifest, { lineWidth: 0 })).join('---\n')}`;
}

function yamlFile(value: unknown): string {
  return `# Generated by \`npm run gen\` (scripts/deploy-artifacts.ts); do not edit.\n${stringify(value, { lineWidth: 0 })}`;
}

function kustomizeRender(): Map<string, string> {
  const files = new Map<string, string>();
  const base: string[] = [];
  for (const descriptor of serviceRegistry.all) {
    const file = `${descriptor.name}.yaml`;
    base.push(file);
    files.set(`deploy/k8s/base/${file}`, yamlDocuments([serviceAccount(descriptor), deployment(descriptor), ...service(descriptor), disruptionBudget(descriptor), autoscaler(descriptor), networkPolicy(descriptor)]));
  }
  files.set('deploy/k8s/base/platform.yaml', yamlDocuments([endpointsConfigMap(), defaultDeny(), migrateJob(), migrateNetworkPolicy()]));
  files.set(
    'deploy/k8s/base/kustomization.yaml',
    yamlFile({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      labels: [{ pairs: { 'app.kubernetes.io/version': rootPackage.version }, includeSelectors: false }],
      resources: ['platform.yaml', ...base],
    }),
  );

  files.set('deploy/k8s/components/in-cluster-data/stores.yaml', yamlDocuments(inClusterStores.flatMap(inClusterStore)));
  files.set(
    'deploy/k8s/components/in-cluster-data/kustomization.yaml',
    yamlFile({
      apiVersion: 'kustomize.config.k8s.io/v1alpha1',
      kind: 'Component',
      resources: ['stores.yaml'],
      secretGenerator: [
        { name: 'carshare-data-passwords', literals: inClusterStores.map(({ store }) => `${store.name}=${devPassword}`), options: { disableNameSuffixHash: true } },
        {
          name: 'carshare-data',
          options: { disableNameSuffixHash: true },
          literals: [
            `${postgres.env}=postgres://carshare:${devPassword}@postgres:${postgres.port}/carshare`,
            `${rabbitmq.env}=amqp://carshare:${devPassword}@rabbitmq:${rabbitmq.port}`,
            `${redis.env}=redis://redis:${redis.port}`,
            `${mosquitto.env}=mqtt://mosquitto:${mosquitto.port}`,
            `${objectStore.env}=http://minio:${objectStore.port}`,
            'S3_BUCKET=carshare',
            'S3_ACCESS_KEY_ID=carshare',
            `S3_SECRET_ACCESS_KEY=${devPassword}`,
            'S3_FORCE_PATH_STYLE=true',
          ],
        },
      ],
    }),
  );

  files.set(
    'deploy/k8s/overlays/dev/kustomization.yaml',
    yamlFile({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: 'carshare-dev',
      resources: ['../../base'],
      components: ['../../components/in-cluster-data'],
      images: [{ name: image, newName: 'carshare', newTag: 'dev' }],
      patches: [
        { target: { kind: 'Deployment', labelSelector: `app.kubernetes.io/part-of=${partOf}` }, patch: yamlFile([{ op: 'replace', path: '/spec/replicas', value: 1 }]) },
        { target: { kind: 'HorizontalPodAutoscaler' }, patch: yamlFile([{ op: 'replace', path: '/spec/minReplicas', value: 1 }, { op: 'replace', path: '/spec/maxReplicas', value: 2 }]) },
      ],
    }),
  );

  // Production: data stores are the operator's own (managed PostgreSQL, RabbitMQ, Redis), reached
  // through each service's secret, which is required here so that no instance starts with the
  // laptop identity keys that anyone can derive.
  const requireSecret = (descriptor: AnyServiceDescriptor) => ({
    target: { kind: 'Deployment', name: resourceName(descriptor.name) },
    patch: yamlFile([{ op: 'replace', path: '/spec/template/spec/containers/0/envFrom/2/secretRef/optional', value: false }]),
  });
  files.set(
    'deploy/k8s/overlays/prod/kustomization.yaml',
    yamlFile({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: 'carshare',
      resources: ['../../base'],
      images: [{ name: image, newName: 'registry.example.com/carshare', newTag: rootPackage.version }],
      patches: [
        ...serviceRegistry.all.map(requireSecret),
        { target: { kind: 'Service', name: `${resourceName('car')}-devices` }, patch: yamlFile([{ op: 'replace', path: '/spec/type', value: 'LoadBalancer' }]) },
        { target: { kind: 'Deployment', labelSelector: `app.kubernetes.io/part-of=${partOf}` }, patch: yamlFile([{ op: 'replace', path: '/spec/template/spec/containers/0/imagePullPolicy', value: 'Always' }]) },
      ],
    }),
  );
  return files;
}

/** One machine, Docker Compose: the same image, the same env names, the data stores beside it. */
function composeRender(): string {
  const common = {
    DATABASE_URL: `postgres://carshare:${devPassword}@postgres:5432/carshare`,
    AMQP_URL: `amqp://carshare:${devPassword}@rabbitmq:5672`,
    ...Object.fromEntries(serviceRegistry.all.map((descriptor) => [`${descriptor.envPrefix}_URL`, `http://${descriptor.name}:${descriptor.defaultPort}`])),
  };
  const services: Record<string, unknown> = {
    migrate: { image: 'carshare:dev', build: '.', command: ['migrate'], environment: common, depends_on: { postgres: { condition: 'service_healthy' } }, read_only: true, tmpfs: ['/tmp'] },
  };
  for (const descriptor of serviceRegistry.all) {
    const stores = storesOf(descriptor);
    const environment: Record<string, string> = {
      ...common,
      [`${descriptor.envPrefix}_HOST`]: '0.0.0.0',
      [`${descriptor.envPrefix}_PORT`]: String(descriptor.defaultPort),
      ...(stores.includes(redis) ? { REDIS_URL: 'redis://redis:6379' } : {}),
      ...(stores.includes(mosquitto) ? { MQTT_URL: 'mqtt://mosquitto:1883', CAR_MQTT_HOST: '0.0.0.0', CAR_MQTT_PORT: String(devicePort.port) } : {}),
      ...(stores.includes(objectStore) ? { S3_ENDPOINT: 'http://minio:9000', S3_BUCKET: 'carshare', S3_ACCESS_KEY_ID: 'carshare', S3_SECRET_ACCESS_KEY: devPassword, S3_FORCE_PATH_STYLE: 'true' } : {}),
    };
    const dependsOn: Record<string, { condition: string }> = { migrate: { condition: 'service_completed_successfully' } };
    for (const store of stores) dependsOn[store.name] = { condition: 'service_healthy' };
    for (const callee of callees(descriptor)) dependsOn[callee.name] = { condition: 'service_healthy' };
    services[descriptor.name] = {
      image: 'carshare:dev',
      command: ['service', descriptor.name],
      environment,
      depends_on: dependsOn,
      read_only: true,
      tmpfs: ['/tmp'],
      healthcheck: { test: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${descriptor.defaultPort}/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`], interval: '5s', timeout: '3s', retries: 20 },
      ...(descriptor.edge ? { ports: [`8080:${descriptor.defaultPort}`] } : {}),
      ...(descriptor.name === 'car' ? { ports: [`${devicePort.port}:${devicePort.port}`] } : {}),
    };
  }
  services['postgres'] = {
    image: 'postgres:17-bookworm',
    environment: { POSTGRES_USER: 'carshare', POSTGRES_PASSWORD: devPassword, POSTGRES_DB: 'carshare' },
    healthcheck: { test: ['CMD', 'pg_isready', '-U', 'carshare'], interval: '2s', retries: 30 },
    volumes: ['postgres:/var/lib/postgresql/data'],
  };
  services['rabbitmq'] = {
    image: 'rabbitmq:4.1-alpine',
    environment: { RABBITMQ_DEFAULT_USER: 'carshare', RABBITMQ_DEFAULT_PASS: devPassword },
    healthcheck: { test: ['CMD', 'rabbitmq-diagnostics', '-q', 'ping'], interval: '5s', retries: 30 },
  };
  services['redis'] = { image: 'redis:7.4-alpine', command: ['--save', '', '--appendonly', 'no'], healthcheck: { test: ['CMD', 'redis-cli', 'ping'], interval: '2s', retries: 30 } };
  services['mosquitto'] = {
    image: 'eclipse-mosquitto:2.0',
    command: ['mosquitto', '-c', '/mosquitto-no-auth.conf'],
    healthcheck: { test: ['CMD', 'mosquitto_sub', '-t', '$$SYS/#', '-C', '1', '-W', '2'], interval: '5s', retries: 30 },
  };
  services['minio'] = {
    image: 'quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z',
    command: ['server', '/data'],
    environment: { MINIO_ROOT_USER: 'carshare', MINIO_ROOT_PASSWORD: devPassword },
    healthcheck: { test: ['CMD', 'mc', 'ready', 'local'], interval: '5s', retries: 30 },
    volumes: ['minio:/data'],
  };
  return yamlFile({ name: 'carshare', services, volumes: { postgres: {}, minio: {} } });
}

/** Every deploy file `npm run gen` writes, by path from the repo root. */
export function renderDeployArtifacts(): Map<string, string> {
  const files = kustomizeRender();
  files.set('compose.yaml', composeRender());
  return files;
}

/** Facts the manifest test checks the rendered objects against. */
export const deployFacts = {
  services: serviceRegistry.all.map((descriptor) => ({ name: descriptor.name, resource: resourceName(descriptor.name), port: descriptor.defaultPort, edge: Boolean(descriptor.edge), callers: callers(descriptor).map((caller) => caller.name) })),
  runAsUser,
};
