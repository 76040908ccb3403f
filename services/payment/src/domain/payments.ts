// The payment use cases, as facts inserted once (docs/architecture.md "The money path"):
//   attempt  inserted under the charge id derived from the idempotency key: same key, same id;
//   capture  the processor decides once per key (its ledger), so any number of callers with the
//            key, a stale one included, get the same single capture;
//   outcome  inserted once, copied from the processor's answer: all writers agree by construction.
// No lease, no takeover and no read-then-write decides anything. A caller that cannot know what
// its charge became asks ResolveCharge, which closes the key at the processor when nothing was
// taken, so a late capture cannot follow the answer "not charged".
import { createHash } from "node:crypto";
import { type CardInput, checkCard, InFlight, NotFoundError, PreconditionError, UnavailableError, Violations, waitFor, withReason } from "@shopmesh/mesh";
import type { ChargeCache } from "../store/charge-cache.js";
import { type ChargeAttempt, type ChargeRecord, type ChargeStore, mergeCharge } from "../store/charge-store.js";
import { fingerprintCard } from "./card.js";
import type { CaptureResult, Processor } from "./processor.js";

/** The ErrorInfo domain of payment's reasons (see payment.proto). */
export const PAYMENT_DOMAIN = "payment.shop.local";

/** A Charge request after transport decoding. */
export interface ChargeInput {
  idempotencyKey: string;
  amount?: { currencyCode: string; amountMinor: bigint } | undefined;
  card?: CardInput | undefined;
}

/** The final answer about a key: a charge (maybe refunded since), or why nothing was taken. */
export type Resolution = { charge: ChargeRecord } | { notChargedReason: string };

/** Dependencies of the payment use cases. */
export interface PaymentsDeps {
  store: ChargeStore;
  cache: ChargeCache;
  processor: Processor;
  /** HMAC key for card fingerprints. */
  cardKey: string;
}

/** The payment use cases. */
export interface Payments {
  charge(req: ChargeInput, signal?: AbortSignal): Promise<ChargeRecord>;
  resolve(key: string, signal?: AbortSignal): Promise<Resolution>;
  refund(chargeId: string, reason: string, signal?: AbortSignal): Promise<ChargeRecord>;
  getCharge(chargeId: string): Promise<ChargeRecord>;
}

const KEY_RE = /^[A-Za-z0-9_:.-]{1,128}$/;
const ID_RE = /^[A-Za-z0-9_:.-]{1,128}$/;
const MAX_AMOUNT = 10_000_000_000n;

/** The charge id of an idempotency key: one key, one id, so the key's uniqueness is the id's. */
export function chargeIdFor(key: string): string {
  return `ch_${createHash("sha256").update(`charge\n${key}`).digest("base64url").slice(0, 24)}`;
}

/** Creates the payment use cases over a store, a cache and a processor. */
export function createPayments(deps: PaymentsDeps): Payments {
  const { store, cache, processor } = deps;
  // The charges this process is deciding, by key: a concurrent Charge with the key waits for that
  // promise instead of inserting and reading MongoDB itself, where even a read by _id scans (a
  // hundred at once at 70,000 charges ran past the database's deadline).
  const deciding = new InFlight<ChargeRecord>();

  function validate(req: ChargeInput): { amountMinor: number; currency: string; card: CardInput } {
    const v = new Violations();
    v.check(KEY_RE.test(req.idempotencyKey), "idempotency_key", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
    if (!req.amount) {
      v.check(false, "amount", "required");
    } else {
      v.check(req.amount.amountMinor >= 1n && req.amount.amountMinor <= MAX_AMOUNT, "amount.amount_minor", "must be 1 to 10^10");
      v.check(/^[A-Z]{3}$/.test(req.amount.currencyCode), "amount.currency_code", "must be three upper-case letters");
    }
    checkCard(v, req.card, "card");
    v.throwIfAny();
    return { amountMinor: Number(req.amount!.amountMinor), currency: req.amount!.currencyCode, card: req.card! };
  }

  function checkSameRequest(rec: ChargeAttempt, a: ChargeAttempt): void {
    if (rec.amountMinor !== a.amountMinor || rec.currency !== a.currency || rec.cardLast4 !== a.cardLast4 || rec.cardHash !== a.cardHash) {
      throw withReason(new PreconditionError("idempotency_key was already used with another amount or card"), {
        reason: "IDEMPOTENCY_KEY_REUSED", domain: PAYMENT_DOMAIN, metadata: { charge_id: rec.id },
      });
    }
  }

  // Turns a final record into the answer every caller with this key gets.
  function answer(rec: ChargeRecord): ChargeRecord {
    if (rec.status !== "DECLINED") return rec;
    if (rec.declineReason === "voided") {
      throw withReason(new PreconditionError("the charge was voided before it reached the processor; nothing was taken"), {
        reason: "CHARGE_VOIDED", domain: PAYMENT_DOMAIN,
      });
    }
    const why = rec.declineReason ?? "declined";
    throw withReason(new PreconditionError(`card declined: ${why}`), { reason: "CARD_DECLINED", domain: PAYMENT_DOMAIN, metadata: { decline_reason: why } });
  }

  // Records what the processor decided (or finds what another writer recorded: the same answer).
  async function settle(a: ChargeAttempt, result: CaptureResult): Promise<ChargeRecord> {
    const at = new Date();
    const outcome = await store.insertOutcome(a.id, result.approved
      ? { status: "SUCCEEDED", at }
      : { status: "DECLINED", declineReason: result.reason, at });
    const rec = mergeCharge(a, outcome, null);
    await cache.put(rec);
    return rec;
  }

  async function capture(a: ChargeAttempt, card: CardInput, signal?: AbortSignal): Promise<CaptureResult> {
    try {
      return await processor.capture({ key: a.key, amountMinor: a.amountMinor, currency: a.currency, card }, signal);
    } catch (err) {
      // The processor failed before deciding: nothing was taken, and a retry may charge.
      if (err instanceof UnavailableError) {
        throw withReason(new UnavailableError(err.message, err), { reason: "PROCESSOR_UNAVAILABLE", domain: PAYMENT_DOMAIN });
      }
      throw err;
    }
  }

  // The charge under a key, decided once: insert first, and read only when the key was taken,
  // Redis's copy of a finished charge before MongoDB (where a read by _id scans).
  async function decide(attempt: ChargeAttempt, card: CardInput, signal?: AbortSignal): Promise<ChargeRecord> {
    if (!(await store.insertAttempt(attempt))) {
      const cached = await cache.get(attempt.key);
      if (cached) {
        checkSameRequest(cached, attempt);
        return cached;
      }
      const existing = await store.find(attempt.id);
      if (!existing) throw new Error(`charge ${attempt.id} has no attempt after a duplicate insert`);
      checkSameRequest(existing, attempt);
      if (existing.status !== "PENDING") {
        await cache.put(existing);
        return existing;
      }
      // Undecided: whoever inserted it may have died. Asking the processor again is safe, since
      // it decides once per key; it answers the capture that exists, or makes the only one.
      return settle(existing, await capture(existing, card, signal));
    }
    return settle(attempt, await capture(attempt, card, signal));
  }

  function checkId(field: string, id: string): void {
    const v = new Violations();
    v.check(ID_RE.test(id), field, "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
    v.throwIfAny();
  }

  // Declined and pending attempts are not charges: to a client they do not exist.
  async function visibleCharge(chargeId: string): Promise<ChargeRecord> {
    const rec = await store.find(chargeId);
    if (!rec || (rec.status !== "REFUNDED" && rec.status !== "SUCCEEDED")) throw new NotFoundError(`charge ${chargeId} not found`);
    return rec;
  }

  return {
    async charge(req, signal) {
      const { amountMinor, currency, card } = validate(req);
      const fp = fingerprintCard(card, deps.cardKey);
      const attempt: ChargeAttempt = {
        id: chargeIdFor(req.idempotencyKey), key: req.idempotencyKey, amountMinor, currency,
        cardLast4: fp.last4, cardHash: fp.hash, createdAt: new Date(),
      };
      const running = deciding.get(req.idempotencyKey);
      if (running) {
        // Its record is this call's answer; when that call failed, go on as if it never ran.
        const done = await waitFor(running, Infinity, signal);
        if (done === "gave up") throw signal!.reason;
        if (done.ok) {
          checkSameRequest(done.value, attempt);
          return answer(done.value);
        }
      }
      return answer(await deciding.run(attempt.key, () => decide(attempt, card, signal)));
    },

    async resolve(key, signal) {
      const v = new Violations();
      v.check(KEY_RE.test(key), "idempotency_key", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
      v.throwIfAny();
      const id = chargeIdFor(key);
      let rec = (await cache.get(key)) ?? (await store.find(id));
      if (!rec || rec.status === "PENDING") {
        // Ask the processor; when it had decided nothing, this closes the key there.
        const result = await processor.resolve(key, signal);
        if (!rec) {
          // Every capture follows an attempt, so a capture without one is a bug, not an answer.
          if (result.approved) throw new Error(`the processor holds a capture for ${id} without an attempt`);
          return { notChargedReason: result.reason };
        }
        rec = await settle(rec, result);
      }
      if (rec.status === "DECLINED") return { notChargedReason: rec.declineReason ?? "declined" };
      return { charge: rec };
    },

    async refund(chargeId, reason, signal) {
      const v = new Violations();
      v.check(ID_RE.test(chargeId), "charge_id", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
      v.check(reason.length <= 500, "reason", "must be at most 500 characters");
      v.throwIfAny();
      const rec = await visibleCharge(chargeId);
      if (rec.status === "REFUNDED") return rec;
      // The processor's book first: if we die after it, a retried Refund records the same refund.
      await processor.refund(rec.key, rec.amountMinor, signal);
      const r = await store.insertRefund(chargeId, { reason, at: new Date() });
      const refunded: ChargeRecord = { ...rec, status: "REFUNDED", refundedAt: r.at, refundReason: r.reason };
      await cache.delete(rec.key);
      return refunded;
    },

    async getCharge(chargeId) {
      checkId("charge_id", chargeId);
      return visibleCharge(chargeId);
    },
  };
}
