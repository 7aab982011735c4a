/**
 * Issue 13 acceptance 2: the OpenAPI document the gateway serves passes Spectral (with the OWASP
 * API Security ruleset) and Redocly with 0 errors. The document is generated here, from every
 * route of every RPC contract the contracts package exports, so a route added tomorrow is linted
 * tomorrow without an edit. The linters are the real CLIs from node_modules, with the rulesets at
 * the repository root.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createObservability } from '@carshare/observability';
import { StaticDiscovery } from '@carshare/platform';
import { loadGatewayConfig } from './config.ts';
import { everyRpcService } from './every-rpc-service.ts';
import { createGatewayModule } from './module.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);

type Json = Record<string, any>;

/** The document as /docs/json serves it, with a client for every service so every route group is mounted. */
async function generateDocument(): Promise<Json> {
  const services = everyRpcService();
  const observability = createObservability({ service: 'gateway', logLevel: 'silent', prettyLogs: false, sampleRatio: 0, processMetrics: false });
  const gateway = createGatewayModule({
    config: loadGatewayConfig({ 'log.level': 'silent' }),
    observability,
    // Never called: the document is built from the routes, not from answers.
    discovery: new StaticDiscovery(Object.fromEntries(services.map(({ name }) => [name, ['http://127.0.0.1:1']]))),
    services,
  });
  try {
    await gateway.start();
    return structuredClone(gateway.openApiDocument()) as Json;
  } finally {
    await gateway.close();
    await observability.shutdown();
  }
}

/** Runs a CLI to its end; a non-zero exit is an answer here (lint findings), not a failure. */
function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      {
        cwd: repoRoot,
        maxBuffer: 64 * 1024 * 1024,
        // ~4 s of CPU for Spectral, under 1 s for Redocly; a machine loaded by parallel suites stretches that a lot.
        timeout: 240_000,
        // Only what the CLIs need: no broker or database URLs, no telemetry calls home.
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NO_COLOR: '1', REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(new Error(`${command} did not run (${error.signal ?? error.code ?? 'no exit code'}): ${error.message}\n${stderr}`));
        else resolvePromise(stdout);
      },
    );
  });
}

interface Finding {
  file: string;
  rule: string;
  where: string;
  message: string;
}

/** One run for all files: the CLI takes seconds just to start on a loaded machine. */
async function spectralErrors(files: readonly string[]): Promise<Finding[]> {
  const out = await run(bin('spectral'), ['lint', '--ruleset', join(repoRoot, '.spectral.mjs'), '--format', 'json', '--quiet', ...files]);
  const results = JSON.parse(out) as Array<{ code: string; severity: number; message: string; path: string[]; source: string }>;
  return results
    .filter((result) => result.severity === 0)
    .map((result) => ({ file: basename(result.source), rule: result.code, where: result.path.join('.'), message: result.message }));
}

/** Redocly prints one JSON report per file, back to back: one run per file, side by side. */
async function redoclyErrors(files: readonly string[]): Promise<Finding[]> {
  const reports = await Promise.all(
    files.map(async (file) => {
      const out = await run(bin('redocly'), ['lint', file, '--config', join(repoRoot, 'redocly.yaml'), '--format', 'json']);
      const report = JSON.parse(out) as { problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }> };
      return report.problems
        .filter((problem) => problem.severity === 'error')
        .map((problem) => ({ file: basename(file), rule: problem.ruleId, where: problem.location[0]?.pointer ?? '', message: problem.message }));
    }),
  );
  return reports.flat();
}

function summary(findings: readonly Finding[]): string {
  return findings
    .slice(0, 30)
    .map(({ rule, where, message }) => `${rule} at ${where}: ${message}`)
    .join('\n');
}

describe('the OpenAPI document', () => {
  let dir: string;
  let document: Json;
  let spectral: Finding[];
  let redocly: Finding[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'carshare-openapi-'));
    document = await generateDocument();
    // The negative control: a ruleset that silently checks nothing would pass the real document too.
    const broken = structuredClone(document);
    const login = broken.paths['/v1/auth/login'].post;
    delete login.operationId;
    delete login.requestBody.content['application/json'].schema.properties.password.maxLength;
    const files = [write('openapi.json', document), write('broken.json', broken)];
    [spectral, redocly] = await Promise.all([spectralErrors(files), redoclyErrors(files)]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, value: Json): string {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(value, null, 2));
    return file;
  }

  const of = (findings: Finding[], file: string) => findings.filter((finding) => finding.file === file);

  it('passes Spectral with the OWASP ruleset and Redocly with 0 errors', () => {
    const [bySpectral, byRedocly] = [of(spectral, 'openapi.json'), of(redocly, 'openapi.json')];
    assert.equal(bySpectral.length, 0, `Spectral errors (${bySpectral.length}):\n${summary(bySpectral)}`);
    assert.equal(byRedocly.length, 0, `Redocly errors (${byRedocly.length}):\n${summary(byRedocly)}`);
  });

  it('fails on a missing operationId and on a request string without maxLength', () => {
    const rules = (findings: Finding[]) => new Set(of(findings, 'broken.json').map(({ rule }) => rule));
    assert.ok(rules(spectral).has('operation-operationId'), summary(spectral));
    assert.ok(rules(spectral).has('owasp:api4:2023-string-limit'), summary(spectral));
    assert.ok(rules(redocly).has('operation-operationId'), summary(redocly));
  });

  it('gives every operation an id from its route, a security requirement and the roles it needs', () => {
    const operations = Object.entries(document.paths as Json).flatMap(([path, item]) =>
      Object.entries(item as Json).map(([method, operation]) => ({ path, method, operation: operation as Json })),
    );
    assert.ok(operations.length > 40, `only ${operations.length} operations: route groups are missing`);
    const byId = (id: string) => operations.find(({ operation }) => operation.operationId === id)?.operation;
    assert.deepEqual(byId('postAdminUsersByIdSuspend')?.security, [{ operatorBearer: [] }]);
    assert.deepEqual(byId('postAdminUsersByIdSuspend')?.['x-roles'], ['operator', 'admin']);
    assert.deepEqual(byId('postAuthLogin')?.security, [{}]);
    assert.deepEqual(byId('getMe')?.security, [{ bearerAuth: [] }]);
    assert.deepEqual(byId('postDevicesTelemetry')?.security, [{ deviceCredential: [] }]);
    for (const { path, method, operation } of operations) {
      assert.ok(operation.security?.length > 0, `${method} ${path} has no security requirement`);
      for (const status of ['400', '408', '429', '431', '500', '503', '504']) {
        assert.ok(operation.responses[status], `${method} ${path} does not document ${status}`);
      }
      assert.ok(operation.responses['429'].headers['Retry-After'], `${method} ${path}: 429 without Retry-After`);
    }
    assert.deepEqual(document.servers?.length, 1);
  });

  it('does not require query fields that default when left out', () => {
    const limit = (document.paths['/v1/admin/users'].get.parameters as Json[]).find((parameter) => parameter.name === 'limit');
    assert.ok(limit, 'GET /v1/admin/users takes limit');
    assert.equal(limit.required, false);
  });
});
