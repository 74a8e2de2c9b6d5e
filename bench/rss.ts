// Resident memory of a server process, sampled from /proc every 250 ms for the whole run. The kernel's own
// high-water mark (VmHWM) is read too: it catches a peak shorter than the sampling interval. A server of several
// processes (a cluster primary and its workers) is summed over its process tree: its VmHWM is then the sum of each
// process's own, an upper bound of the peak of the sum.
import { readFile } from 'node:fs/promises';

import { processTree } from './processes.js';

export interface RssSummary {
  peakSampledKiB: number;
  highWaterKiB: number;
  samples: number;
}

async function readStatus(pid: number): Promise<{ rss: number; hwm: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
  } catch {
    return undefined; // the process is gone (or /proc is not Linux's): no sample
  }
}

export function sampleRss(pid: number, everyMs = 250) {
  let peak = 0;
  let hwm = 0;
  let samples = 0;
  const take = async () => {
    const all = (await Promise.all((await processTree(pid)).map(readStatus))).filter((s) => s !== undefined);
    if (!all.length) return;
    samples++;
    peak = Math.max(
      peak,
      all.reduce((n, s) => n + s.rss, 0),
    );
    hwm = Math.max(
      hwm,
      all.reduce((n, s) => n + s.hwm, 0),
    );
  };
  void take();
  const timer = setInterval(() => void take(), everyMs);
  timer.unref();
  return {
    /** Stops sampling after one last sample; call it while the process still runs. */
    async stop(): Promise<RssSummary> {
      clearInterval(timer);
      await take();
      return { peakSampledKiB: peak, highWaterKiB: hwm, samples };
    },
  };
}
