// The alert rules load in Prometheus and fire for each dependency failing alone: `promtool test rules` runs the
// unit tests in observability/prometheus-alerts.test.yml. promtool comes with Debian's prometheus package, which
// .ci/run installs when it is missing.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from '@jest/globals';

import { REPO_ROOT } from '../support/process.js';

const run = promisify(execFile);
const dir = join(REPO_ROOT, 'observability');

describe('Prometheus alert rules', () => {
  it('pass promtool check rules', async () => {
    const { stdout } = await run('promtool', ['check', 'rules', 'prometheus-alerts.yml'], { cwd: dir });
    expect(stdout).toContain('SUCCESS');
  });

  it('fire TollgateDependencyErrors for PostgreSQL alone and for Redis alone (promtool test rules)', async () => {
    const { stdout, stderr } = await run('promtool', ['test', 'rules', 'prometheus-alerts.test.yml'], {
      cwd: dir,
    }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`promtool test rules failed:\n${err.stdout ?? ''}\n${err.stderr ?? err.message}`);
    });
    expect(`${stdout}${stderr}`).toContain('SUCCESS');
  });
});
