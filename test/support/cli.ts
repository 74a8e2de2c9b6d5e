// The operator's CLI run in the test's own process: src/cli/run.ts, the function `npm run cli` (src/cli/main.ts)
// calls with the process's arguments, environment and streams, called here with the test's. It takes the same
// environment a spawned CLI would get (nothing from the test runner's process.env) and gives the same result as
// runCli in ./process.ts: exit code, stdout, stderr, stdout as JSON. Most CLI tests use this, since starting tsx
// for each command costs seconds; the tests that spawn the real command (test/cli/cli.test.ts, test/start.test.ts)
// keep the process contract itself (exit status, streams, npm script) tested end to end.
import { Readable, Writable } from 'node:stream';

import { runCli } from '../../src/cli/run.js';
import type { RunOptions, RunResult } from './process.js';

function collector() {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `npm run --silent cli -- ...args`, in-process. */
export async function runCliInProcess(
  args: string[],
  { env = {}, stdin }: Omit<RunOptions, 'timeoutMs'> = {},
): Promise<RunResult> {
  const stdout = collector();
  const stderr = collector();
  const code = await runCli(args, {
    env: { ...env },
    stdin: Readable.from([stdin ?? '']),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, signal: null, stdout: stdout.text(), stderr: stderr.text(), json: parseJson(stdout.text()) };
}
