// The simulated card processor, with fault knobs for demos and chaos tests. A real processor
// would sit behind the same interface and receive the idempotency key too.
import { UnavailableError } from "@shopmesh/mesh";
import type { CardInput } from "./card.js";

/** The processor's answer: approved, or declined with a machine-readable reason. */
export type ProcessorResult = { approved: true } | { approved: false; reason: string };

/** Authorizes and captures one payment. Throws UnavailableError when the processor fails. */
export interface Processor {
  charge(req: { key: string; amountMinor: number; currency: string; card: CardInput }, signal?: AbortSignal): Promise<ProcessorResult>;
}

/** Documented test card numbers and what the simulated processor answers for them. */
export const TEST_CARDS: Readonly<Record<string, string>> = {
  "4000000000000002": "card_declined",
  "4000000000009995": "insufficient_funds",
  "4000000000000069": "expired_card",
};

/** Options of the simulated processor. */
export interface SimulatedProcessorOptions {
  /** Added latency per call, ms (PAYMENT_FAULT_LATENCY_MS). */
  latencyMs?: number;
  /** Probability 0..1 that a call fails with Unavailable (PAYMENT_FAULT_FAILURE_RATE). */
  failureRate?: number;
  /** Random source, injectable for deterministic tests. */
  random?: () => number;
}

/** Creates the simulated processor: test cards decline, every other valid card is approved. */
export function createSimulatedProcessor(opts: SimulatedProcessorOptions = {}): Processor {
  const latency = opts.latencyMs ?? 0;
  const failureRate = opts.failureRate ?? 0;
  const random = opts.random ?? Math.random;
  return {
    async charge(req, signal) {
      if (latency > 0) await sleep(latency, signal);
      // The fault fires before anything is captured, so the caller may safely try again.
      if (failureRate > 0 && random() < failureRate) throw new UnavailableError("processor unavailable");
      const reason = TEST_CARDS[req.card.number];
      return reason ? { approved: false, reason } : { approved: true };
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => { signal?.removeEventListener("abort", onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason); };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
