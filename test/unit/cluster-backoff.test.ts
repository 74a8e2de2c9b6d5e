// WORKERS: how long the primary waits before replacing a worker that died (README "Workers"): doubling from 0.5 s
// with each death in a row, at most 30 s.
import { describe, expect, it } from '@jest/globals';

import { restartDelayMs } from '../../src/cluster.js';

describe('replacing a dead worker', () => {
  it('waits 0.5 s, then twice as long for each death in a row, never more than 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(restartDelayMs)).toEqual([
      500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});
