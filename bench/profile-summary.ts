// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: by concern (node internals and native
// code, such as a socket write, charged to the package that called them), self time by function, and inclusive
// time of Tollgate's own functions (what each step costs with everything it calls). Idle time is left out of every
// share. Usable alone: `tsx bench/profile-summary.ts file.cpuprofile`.
//
// A caution for reading it: the profiler samples wall-clock time on the JavaScript thread. A socket write that
// wakes PostgreSQL or Redis on a two-core machine often lets them run before the write returns, so "writev" under
// pg or ioredis is mostly the database's own work, done while Node waits: the cost of a round trip.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const IDLE = '(idle)';
const OWN_CODE = /\/(src|adapters|views)\//;

/** Where a frame's code lives: an npm package, a Tollgate source file, node's internals, or a V8 pseudo-frame. */
function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return 'node internals';
  const own = /\/((?:src|adapters|views|bench)\/.*)$/.exec(url)?.[1];
  return own ?? url;
}

// Packages grouped by what they are for, so the database and store clients read as one cost each.
const CONCERNS: [RegExp, string][] = [
  [/^(@prisma\/|pg$|pg-|prisma$|wasm:\/\/|src\/db\/)/, 'PostgreSQL client (Prisma, pg)'],
  [/^(ioredis|redis-|@ioredis\/|src\/store\/)/, 'Redis client (ioredis)'],
  [
    /^(koa|@koa\/|koa-|delegates|http-errors|statuses|content-type|raw-body|accepts|cookies|keygrip)/,
    'Koa and its helpers',
  ],
];

function concernOf(area: string): string {
  for (const [pattern, name] of CONCERNS) if (pattern.test(area)) return name;
  return area;
}

/** The area of the first frame, from the leaf up, that is a package or our code (not node internals or native). */
function chargedArea(id: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  const leaf = byId.get(id)!.callFrame;
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { url, functionName } = byId.get(at)!.callFrame;
    if (url && !url.startsWith('node:')) return areaOf(url, functionName);
  }
  return areaOf(leaf.url, leaf.functionName);
}

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url
    ? `${url.replace(/^file:\/\/.*?\/(node_modules|src|adapters|views)\//, '$1/')}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([key, us]) =>
        `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`,
    );
}

export async function summarizeProfile(path: string, count = 20): Promise<string> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByFunction = new Map<string, number>();
  const selfByArea = new Map<string, number>();
  const byConcern = new Map<string, number>();
  const inclusiveOwn = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let busy = 0;

  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === IDLE) return;
    busy += us;
    add(selfByFunction, label(node), us);
    add(selfByArea, areaOf(node.callFrame.url, node.callFrame.functionName), us);
    add(byConcern, concernOf(chargedArea(id, byId, parent)), us);
    // Inclusive: each of our functions on the stack once, however deep the recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!;
      if (!OWN_CODE.test(frame.callFrame.url) || /node_modules/.test(frame.callFrame.url)) continue;
      const key = label(frame);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusiveOwn, key, us);
      }
    }
  });

  return [
    `CPU busy (not idle): ${(busy / 1e6).toFixed(1)} s; shares below are of that.`,
    '',
    'By concern (node internals and native code charged to the package that called them):',
    ...top(byConcern, busy, 15),
    '',
    'Self time by package / source file:',
    ...top(selfByArea, busy, 15),
    '',
    'Self time by function:',
    ...top(selfByFunction, busy, count),
    '',
    "Inclusive time of Tollgate's own functions:",
    ...top(inclusiveOwn, busy, count),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile>');
  console.log(await summarizeProfile(file));
}
