// The process tree of a server under test, from /proc: with WORKERS > 1 the process the benchmark started is the
// cluster primary and the requests are served by its children, whose CPU and memory are the server's too.
import { readdir, readFile } from 'node:fs/promises';

/** Parent pid of `pid` (field 4 of /proc/<pid>/stat), undefined once it is gone. */
async function parentOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it, at this moment (empty where /proc is not Linux's). */
export async function processTree(pid: number): Promise<number[]> {
  let entries: string[];
  try {
    entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  } catch {
    return [pid];
  }
  const children = new Map<number, number[]>();
  await Promise.all(
    entries.map(async (e) => {
      const parent = await parentOf(Number(e));
      if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(e)]);
    }),
  );
  const tree: number[] = [];
  for (const queue = [pid]; queue.length;) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}
