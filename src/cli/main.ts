// `npm run cli -- ...`: the CLI (src/cli/run.ts) on this process's arguments, environment and streams.
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});
