import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

/** deploy/prometheus holds the SLO rules of the whole platform; analytics owns the business series they read. */
const prometheusDir = resolve(import.meta.dirname, '../../../deploy/prometheus');
const promtoolMissing = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;
const skip = promtoolMissing ? 'promtool is not installed (apt-get install prometheus ships it): the SLO rules were not checked' : false;

function promtool(args: string[]): { ok: boolean; said: string } {
  const result = spawnSync('promtool', args, { cwd: prometheusDir, encoding: 'utf8', timeout: 60_000 });
  return { ok: result.status === 0, said: `${result.stdout}${result.stderr}` };
}

const filesIn = (folder: string, suffix: string) =>
  readdirSync(join(prometheusDir, folder))
    .filter((name) => name.endsWith(suffix))
    .map((name) => join(folder, name));

describe('the SLO recording and alerting rules', { skip }, () => {
  it('pass promtool check rules', () => {
    const files = filesIn('rules', '.rules.yml');
    assert.ok(files.length > 0, 'no rule files in deploy/prometheus/rules');
    const { ok, said } = promtool(['check', 'rules', ...files]);
    assert.ok(ok, said);
    assert.doesNotMatch(said, /FAILED|error/i);
  });

  it('pass their promtool unit tests: unlock success ≥ 99 % and start-trip p99 < 3 s fire when broken and stay quiet when met', () => {
    const files = filesIn('tests', '.test.yml');
    assert.ok(files.length > 0, 'no rule tests in deploy/prometheus/tests');
    const { ok, said } = promtool(['test', 'rules', ...files]);
    assert.ok(ok, said);
    assert.match(said, /SUCCESS/);
  });
});
