// The simulated card processor: the external party whose book is the truth about money. Like a
// real PSP it keeps a ledger keyed by the idempotency key: a second capture with a key returns
// the first answer, and a key can be closed ("voided") so that a capture arriving late takes
// nothing. It runs in-process, but its ledger is durable (its own database): it is their book,
// not ours. Fault knobs for demos and chaos tests.
import { type CardInput, sleep, UnavailableError } from "@shopmesh/mesh";

/** One entry of the processor's book: what became of an idempotency key, decided once. */
export type LedgerEntry =
  | { key: string; kind: "capture"; amountMinor: number; currency: string; at: Date }
  | { key: string; kind: "decline"; reason: string; at: Date }
  /** The key was closed by a lookup that found nothing: no capture can follow. */
  | { key: string; kind: "void"; at: Date };

/** The processor's durable book. Implementations insert once per key; the first entry stands. */
export interface ProcessorLedger {
  /** Records the entry unless the key has one; returns the entry that stands. */
  settle(entry: LedgerEntry): Promise<LedgerEntry>;
  /** Records a full refund of the key's capture once; a repeat is a no-op. */
  refund(key: string, amountMinor: number, at: Date): Promise<void>;
}

/** What the processor says about a capture request. */
export type CaptureResult = (
  | { approved: true; amountMinor: number; currency: string }
  | { approved: false; reason: string }
) & {
  /** True when the answer is one given before for this key (a PSP's "idempotent replay"). */
  replayed?: boolean;
};

/** A card processor, keyed by idempotency key. Throws UnavailableError when it fails before deciding. */
export interface Processor {
  /** Authorizes and captures once per key; a repeat returns the first answer. */
  capture(req: { key: string; amountMinor: number; currency: string; card: CardInput }, signal?: AbortSignal): Promise<CaptureResult>;
  /** What became of a key; closes it ("voided") when nothing was decided yet, so the answer is final. */
  resolve(key: string, signal?: AbortSignal): Promise<CaptureResult>;
  /** Refunds the key's capture in full, once. */
  refund(key: string, amountMinor: number, signal?: AbortSignal): Promise<void>;
}

/** Documented test card numbers and what the simulated processor answers for them. */
export const TEST_CARDS: Readonly<Record<string, string>> = {
  "4000000000000002": "card_declined",
  "4000000000009995": "insufficient_funds",
  "4000000000000069": "expired_card",
};

/** Options of the simulated processor. */
export interface SimulatedProcessorOptions {
  /** Its book. */
  ledger: ProcessorLedger;
  /** Added latency per capture, ms (PAYMENT_FAULT_LATENCY_MS). */
  latencyMs?: number;
  /** Probability 0..1 that a capture fails with Unavailable before deciding (PAYMENT_FAULT_FAILURE_RATE). */
  failureRate?: number;
  /** Random source, injectable for deterministic tests. */
  random?: () => number;
}

/** Creates the simulated processor: test cards decline, every other valid card is approved. */
export function createSimulatedProcessor(opts: SimulatedProcessorOptions): Processor {
  const latency = opts.latencyMs ?? 0;
  const failureRate = opts.failureRate ?? 0;
  const random = opts.random ?? Math.random;
  const { ledger } = opts;
  return {
    async capture(req, signal) {
      if (latency > 0) await sleep(latency, signal);
      // The fault fires before anything is decided, so the caller may safely try again.
      if (failureRate > 0 && random() < failureRate) throw new UnavailableError("processor unavailable");
      const reason = TEST_CARDS[req.card.number];
      const at = new Date();
      const entry: LedgerEntry = reason
        ? { key: req.key, kind: "decline", reason, at }
        : { key: req.key, kind: "capture", amountMinor: req.amountMinor, currency: req.currency, at };
      const stands = await ledger.settle(entry);
      return { ...resultOf(stands), replayed: stands !== entry };
    },
    async resolve(key) {
      return resultOf(await ledger.settle({ key, kind: "void", at: new Date() }));
    },
    async refund(key, amountMinor) {
      await ledger.refund(key, amountMinor, new Date());
    },
  };
}

function resultOf(e: LedgerEntry): CaptureResult {
  if (e.kind === "capture") return { approved: true, amountMinor: e.amountMinor, currency: e.currency };
  return { approved: false, reason: e.kind === "void" ? "voided" : e.reason };
}
