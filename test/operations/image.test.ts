// The image, checked where Docker cannot run (these machines have no daemon): the Dockerfile's stages, user,
// command and health check, and docker-compose.yml's wiring. `npm run start:prod` runs the image's command
// (test/operations/shutdown.test.ts signals it).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { REPO_ROOT } from '../support/process.js';

interface Stage {
  from: string;
  name: string;
  lines: string[];
}

/** Stages of a Dockerfile: continuation lines joined, comments dropped. */
function stagesOf(dockerfile: string): Stage[] {
  const lines = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) stages.push({ from: from[1]!, name: from[2] ?? String(stages.length), lines: [] });
    else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

const instruction = (stage: Stage, name: string) => stage.lines.filter((l) => l.toUpperCase().startsWith(`${name} `));

describe('Dockerfile', () => {
  it('builds in stages and runs compiled code on Node 22 as a non-root user, signals going straight to node', async () => {
    const stages = stagesOf(await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
    expect(stages.map((s) => s.name)).toEqual(['build', 'deps', 'runtime']);
    for (const stage of stages) expect(stage.from).toMatch(/^node:22(\.|-|$)/); // Node.js 22 LTS everywhere

    const [build, deps, runtime] = stages as [Stage, Stage, Stage];
    expect(instruction(build, 'RUN').join('\n')).toContain('npm run build');
    expect(instruction(deps, 'RUN').join('\n')).toMatch(/npm ci\b.*--omit=dev/); // production dependencies only
    // The final image takes compiled code and production dependencies, never the sources or dev dependencies.
    const copies = instruction(runtime, 'COPY');
    expect(copies).toEqual(
      expect.arrayContaining([
        'COPY --from=deps /app/node_modules ./node_modules',
        'COPY --from=build /app/dist ./dist',
      ]),
    );
    expect(copies.join('\n')).not.toMatch(/--from=build \/app\/node_modules|COPY (\.|src) /);
    expect(instruction(runtime, 'RUN').join('\n')).not.toMatch(/npm (ci|install)/);

    const user = instruction(runtime, 'USER');
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^USER\s+(root|0)(:|$)/);

    // Exec form, node itself as PID 1's program: no npm, no shell to swallow SIGTERM.
    const cmd = instruction(runtime, 'CMD');
    expect(cmd).toHaveLength(1);
    const argv = JSON.parse(cmd[0]!.slice(4)) as string[];
    expect(argv[0]).toBe('node');
    expect(argv).not.toContain('npm');
    expect(instruction(runtime, 'ENTRYPOINT')).toEqual([]);
    // ...and it is what `npm run start:prod` runs (after its prestart build).
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts['start:prod']).toBe(`exec ${argv.join(' ')}`);
    expect(pkg.scripts['prestart:prod']).toBe('npm run build');

    const health = instruction(runtime, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]).toContain('/healthz');
    expect(instruction(runtime, 'ENV').join(' ')).toContain('NODE_ENV=production');
  });
});

describe('docker-compose.yml', () => {
  it('builds the image and runs it with PostgreSQL and Redis, migrations first, the secret from the environment', async () => {
    const compose = await readFile(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    const service = (name: string) => {
      const start = compose.indexOf(`\n  ${name}:\n`);
      expect(start).toBeGreaterThanOrEqual(0);
      const rest = compose.slice(start + 1);
      const end = rest.slice(1).search(/\n {2}\S|\n\S/);
      return end < 0 ? rest : rest.slice(0, end + 1);
    };
    for (const dependency of ['postgres', 'redis']) expect(service(dependency)).toContain('healthcheck:');
    const tollgate = service('tollgate');
    expect(tollgate).toMatch(/\n {4}build: \.\n/);
    expect(tollgate).not.toMatch(/npm (ci|start)|volumes:/); // the image, not a mounted checkout
    expect(tollgate).toMatch(/TOLLGATE_SECRET: \$\{TOLLGATE_SECRET:\?/); // from the environment, required
    expect(tollgate).toMatch(/postgres:\n\s+condition: service_healthy/);
    expect(tollgate).toMatch(/redis:\n\s+condition: service_healthy/);
    expect(tollgate).toMatch(/migrate:\n\s+condition: service_completed_successfully/);
    expect(tollgate).toContain('healthcheck:');
    expect(service('migrate')).toContain('command: ["node", "dist/src/cli/main.js", "db", "migrate"]');
  });
});
