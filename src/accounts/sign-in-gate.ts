// Admission to a password check, per instance. argon2id runs two at a time (src/accounts/passwords.ts); without a
// bound on the sign-ins waiting behind those two, a burst queues without end and every sign-in waits for all of it.
// The gate counts sign-ins in progress: beyond the two being hashed plus `maxWaiting`, the server is busy (503);
// beyond `perAddress` from one address, that address is (429), so one address cannot fill the queue for everyone.
import { HASH_CONCURRENCY } from './passwords.js';

export type Admission = { admitted: true; done(): void } | { admitted: false; reason: 'busy' | 'address' };

export function createSignInGate({ maxWaiting, perAddress }: { maxWaiting: number; perAddress: number }) {
  const capacity = HASH_CONCURRENCY + maxWaiting;
  const byAddress = new Map<string, number>();
  let inProgress = 0;
  return {
    admit(address: string): Admission {
      const mine = byAddress.get(address) ?? 0;
      if (mine >= perAddress) return { admitted: false, reason: 'address' };
      if (inProgress >= capacity) return { admitted: false, reason: 'busy' };
      inProgress += 1;
      byAddress.set(address, mine + 1);
      let finished = false;
      return {
        admitted: true,
        done() {
          if (finished) return;
          finished = true;
          inProgress -= 1;
          const left = (byAddress.get(address) ?? 1) - 1;
          if (left > 0) byAddress.set(address, left);
          else byAddress.delete(address);
        },
      };
    },
    get inProgress() {
      return inProgress;
    },
  };
}

export type SignInGate = ReturnType<typeof createSignInGate>;
