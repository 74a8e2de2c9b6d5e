// The repository explains itself: no file points at documents that live outside it (the design notes the project
// started from are not shipped), and every relative link in its markdown leads to a file that exists.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from '@jest/globals';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && f !== 'package-lock.json' && f !== 'test/unit/documents.test.ts' && existsSync(join(root, f)));
const text = (file: string) => readFileSync(join(root, file), 'utf8');

// The documents outside the repository that earlier comments cited.
const OUTSIDE = /\.\.\/shared\/|\b(?:DESIGN|STYLE|ENVIRONMENT)\.md\b|background-token-refresh-report/;

describe('documents', () => {
  it('are found (the test reads the tracked files)', () => {
    expect(tracked).toContain('README.md');
    expect(tracked.length).toBeGreaterThan(100);
  });

  it('no tracked file refers to a document outside the repository', () => {
    const offenders = tracked
      .filter((f) => !/\.(png|ico|wasm|gz)$/.test(f))
      .flatMap((f) =>
        text(f)
          .split('\n')
          .map((line, i) => ({ at: `${f}:${i + 1}`, line }))
          .filter(({ line }) => OUTSIDE.test(line)),
      );
    expect(offenders).toEqual([]);
  });

  it('every relative link in the markdown files leads to a file in the repository', () => {
    const broken: string[] = [];
    for (const file of tracked.filter((f) => f.endsWith('.md'))) {
      for (const [, target] of text(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(?:[a-z]+:|#)/i.test(target!)) continue; // web links and anchors
        const path = target!.split('#')[0]!;
        if (!existsSync(join(root, dirname(file), path))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
