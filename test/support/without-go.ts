// A PATH for a child process on a machine made to have no Go toolchain: every directory holding a `go` left out. Where
// node or nice live in such a directory too (Debian's golang package puts go in /usr/bin), a directory of links to
// them goes first, so `#!/usr/bin/env node` scripts (tsx) still run and a build step is still started at nice 19.
import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function pathWithoutGo(scratch: string): Promise<string> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const links = join(scratch, 'without-go-bin');
  await mkdir(links, { recursive: true });
  const nice = dirs.map((dir) => join(dir, 'nice')).find((file) => existsSync(file));
  for (const [name, target] of [
    ['node', process.execPath],
    ['nice', nice],
  ] as const) {
    if (target && !existsSync(join(links, name))) await symlink(target, join(links, name));
  }
  return [links, ...dirs.filter((dir) => !existsSync(join(dir, 'go')))].join(delimiter);
}
