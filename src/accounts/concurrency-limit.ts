// At most `max` tasks at once; the rest wait their turn in order. Password hashing takes 19 MiB and ~20 ms of a
// core per call: unbounded, a burst of logins is a memory spike and an easy denial of service.
export function createConcurrencyLimit(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running -= 1;
    waiting.shift()?.();
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
      running += 1;
      try {
        return await task();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
  };
}
