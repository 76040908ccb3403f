// The one sleep: retry backoff, the simulated processor's latency knob, tests that wait; and the
// one bounded wait for another call's promise (a duplicate waiting for the first call).

/** Resolves after `ms`; rejects with the signal's reason when it aborts first (or already has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * How `p` settled, waiting at most `ms` (Infinity for no bound): its value, that it failed, or
 * "gave up" when the time or the signal ran out first (or the signal already had).
 */
export async function waitFor<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<{ ok: true; value: T } | { ok: false } | "gave up"> {
  if (ms <= 0 || signal?.aborted) return "gave up";
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const giveUp = new Promise<"gave up">((resolve) => {
    if (ms !== Infinity) timer = setTimeout(() => resolve("gave up"), ms);
    onAbort = () => resolve("gave up");
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([p.then((value) => ({ ok: true as const, value }), () => ({ ok: false as const })), giveUp]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
