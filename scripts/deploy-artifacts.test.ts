import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { deployFacts, renderDeployArtifacts, repoRoot } from './deploy-artifacts.ts';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
}

const kubectlAvailable = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const noKubectl = kubectlAvailable ? false : 'kubectl is not installed (.ci/run installs it: apt-get install kubectl)';

function render(overlay: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(repoRoot, 'deploy', 'k8s', 'overlays', overlay)], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return parseAllDocuments(text).map((document) => document.toJS() as K8sObject);
}

/**
 * kustomize wraps a Secret's base64 at 76 columns; the API server's decoder (Go's encoding/base64)
 * ignores the line breaks, the schema's `byte` format does not.
 */
function withUnwrappedSecretData(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' || !('data' in object)) return object;
  const data = (object as unknown as { data: Record<string, string> }).data;
  return { ...object, data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.replace(/\s+/g, '')])) } as K8sObject;
}

/** Validates against the Kubernetes OpenAPI schemas that kubernetes-models ships (ADR 0022). */
async function schemaErrors(object: K8sObject): Promise<string | undefined> {
  // Core objects live at `kubernetes-models/v1`, the others at `kubernetes-models/<group>/<version>`.
  const models = (await import(`kubernetes-models/${object.apiVersion}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = models[object.kind];
  if (!Model) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new Model(withUnwrappedSecretData(object)).validate();
    return undefined;
  } catch (error) {
    return `${object.kind}/${object.metadata.name}: ${(error as Error).message}`;
  }
}

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  assert.ok(found, `${kind}/${name} is missing`);
  return found;
}

function checkInvariants(objects: readonly K8sObject[], overlay: string): void {
  for (const service of deployFacts.services) {
    const deployment = find(objects, 'Deployment', service.resource);
    const pod = deployment.spec.template.spec;
    const where = `${overlay}: ${service.resource}`;
    assert.equal(pod.securityContext.runAsNonRoot, true, `${where} must run as non-root`);
    assert.ok(pod.securityContext.runAsUser > 0, `${where} must name a non-root uid`);
    assert.equal(pod.automountServiceAccountToken, false, `${where} needs no Kubernetes API token`);
    for (const container of pod.containers) {
      assert.equal(container.securityContext.readOnlyRootFilesystem, true, `${where} needs a read-only root filesystem`);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false, `${where} must not escalate privileges`);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], `${where} drops every capability`);
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.ok(container[probe]?.httpGet?.path, `${where} has no ${probe}`);
      assert.equal(container.readinessProbe.httpGet.path, '/health/ready', `${where} is ready only when its checks pass`);
      for (const resource of ['cpu', 'memory']) {
        assert.ok(container.resources?.requests?.[resource], `${where} requests no ${resource}`);
        assert.ok(container.resources?.limits?.[resource], `${where} has no ${resource} limit`);
      }
      assert.deepEqual(container.args, ['service', service.name], `${where} runs its own service`);
      assert.ok(!/:latest$/.test(container.image), `${where} must pin its image`);
    }
    find(objects, 'Service', service.resource);
    find(objects, 'PodDisruptionBudget', service.resource);
    find(objects, 'HorizontalPodAutoscaler', service.resource);

    const policy = find(objects, 'NetworkPolicy', service.resource);
    assert.deepEqual(policy.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels, `${where}: the policy selects the service's pods`);
    assert.deepEqual([...policy.spec.policyTypes].sort(), ['Egress', 'Ingress'], `${where}: the policy fences both directions`);
    const httpRule = policy.spec.ingress.find((rule: any) => !rule.from?.some((peer: any) => peer.namespaceSelector) && rule.ports.some((port: any) => port.port === service.port));
    if (service.edge) {
      assert.equal(httpRule.from, undefined, `${where}: the edge takes clients from anywhere`);
    } else {
      // Only the services that call it, per the registry: the gateway above all.
      const allowed = (httpRule.from ?? []).map((peer: any) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name']).sort();
      assert.deepEqual(allowed, [...service.callers].sort(), `${where}: ingress only from its callers`);
      assert.ok(allowed.length > 0 || service.callers.length === 0);
    }
  }
  const deny = find(objects, 'NetworkPolicy', 'carshare-default-deny');
  assert.deepEqual(deny.spec.ingress ?? [], []);
  assert.deepEqual(deny.spec.egress ?? [], []);
}

it('committed deploy files match what the registry renders (run `npm run gen` when this fails)', () => {
  for (const [path, content] of renderDeployArtifacts()) {
    let committed: string | undefined;
    try {
      committed = readFileSync(join(repoRoot, path), 'utf8');
    } catch {
      committed = undefined;
    }
    assert.equal(committed, content, `${path} is stale or missing`);
  }
});

it('compose.yaml runs every registered service from the one image, after the migration', () => {
  const compose = parse(readFileSync(join(repoRoot, 'compose.yaml'), 'utf8')) as { services: Record<string, any> };
  for (const service of deployFacts.services) {
    const entry = compose.services[service.name];
    assert.ok(entry, `compose.yaml has no ${service.name}`);
    assert.deepEqual(entry.command, ['service', service.name]);
    assert.equal(entry.read_only, true);
    assert.equal(entry.depends_on.migrate.condition, 'service_completed_successfully');
  }
});

describe('Kubernetes manifests (kubectl kustomize)', { skip: noKubectl }, () => {
  for (const overlay of ['dev', 'prod']) {
    it(`${overlay}: renders, every object validates against the Kubernetes schemas, and the invariants hold`, async () => {
      const objects = render(overlay);
      assert.ok(objects.length > deployFacts.services.length * 5, `${overlay} rendered only ${objects.length} objects`);
      const errors = (await Promise.all(objects.map(schemaErrors))).filter((error) => error !== undefined);
      assert.deepEqual(errors, []);
      for (const object of objects) assert.equal(object.metadata.namespace, overlay === 'prod' ? 'carshare' : 'carshare-dev', `${object.kind}/${object.metadata.name} is outside the overlay's namespace`);
      checkInvariants(objects, overlay);
    });
  }

  it('prod: no instance starts without its own secret (no laptop identity keys), devices reach the car service from outside', () => {
    const objects = render('prod');
    for (const service of deployFacts.services) {
      const container = find(objects, 'Deployment', service.resource).spec.template.spec.containers[0];
      const own = container.envFrom.find((source: any) => source.secretRef?.name === `${service.resource}-secrets`);
      assert.equal(own?.secretRef.optional, false, `${service.resource} must require its secret in prod`);
      assert.match(container.image, /^registry\.example\.com\/carshare:\d+\.\d+\.\d+$/);
    }
    assert.equal(find(objects, 'Service', 'carshare-car-devices').spec.type, 'LoadBalancer');
    assert.equal(objects.filter((object) => object.kind === 'StatefulSet').length, 0, 'prod uses the operator’s own data stores');
  });

  it('the schema check catches a broken object (so a green run means something)', async () => {
    const objects = render('dev');
    const deployment = structuredClone(objects.find((object) => object.kind === 'Deployment')!);
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    assert.match((await schemaErrors(deployment)) ?? '', /containerPort/);
  });
});
