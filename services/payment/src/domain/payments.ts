// The payment use cases. Charge runs at most one processor call per idempotency key: the first
// caller inserts a PENDING record under the unique key and calls the processor; every other
// caller with that key waits for the record to become final, or gets Aborted when it stays
// pending past maxWaitMs. A PENDING record whose owner died is taken over once its lease ends.
import { randomBytes } from "node:crypto";
import { AbortedError, NotFoundError, PreconditionError, Violations } from "@shopmesh/mesh";
import type { ChargeCache } from "../store/charge-cache.js";
import type { ChargeRecord, ChargeStore } from "../store/charge-store.js";
import { type CardInput, checkCard, fingerprintCard } from "./card.js";
import type { Processor } from "./processor.js";

/** A Charge request after transport decoding. */
export interface ChargeInput {
  idempotencyKey: string;
  amount?: { currencyCode: string; amountMinor: bigint } | undefined;
  card?: CardInput | undefined;
}

/** Dependencies and knobs of the payment use cases. */
export interface PaymentsDeps {
  store: ChargeStore;
  cache: ChargeCache;
  processor: Processor;
  /** HMAC key for card fingerprints. */
  cardKey: string;
  /** How long a PENDING record belongs to its creator before others may take it over, ms. */
  leaseMs?: number;
  /** How long a concurrent caller waits for the first caller's result, ms. */
  maxWaitMs?: number;
  /** Poll interval while waiting, ms. */
  pollMs?: number;
  /** Logs failures that are handled here; never given card data. */
  warn?: (msg: string, err?: unknown) => void;
}

/** The payment use cases. */
export interface Payments {
  charge(req: ChargeInput, signal?: AbortSignal): Promise<ChargeRecord>;
  refund(chargeId: string, reason: string): Promise<ChargeRecord>;
  getCharge(chargeId: string): Promise<ChargeRecord>;
}

const KEY_RE = /^[A-Za-z0-9_:.-]{1,128}$/;
const ID_RE = /^[A-Za-z0-9_:.-]{1,128}$/;
const MAX_AMOUNT = 10_000_000_000n;

/** Creates the payment use cases over a store, a cache and a processor. */
export function createPayments(deps: PaymentsDeps): Payments {
  const leaseMs = deps.leaseMs ?? 15_000;
  const maxWaitMs = deps.maxWaitMs ?? 5_000;
  const pollMs = deps.pollMs ?? 20;
  const warn = deps.warn ?? (() => {});

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

  // Turns a final record into the answer every caller with this key gets.
  function answer(rec: ChargeRecord, amountMinor: number, currency: string, fp: { last4: string; hash: string }): ChargeRecord {
    if (rec.amountMinor !== amountMinor || rec.currency !== currency || rec.cardLast4 !== fp.last4 || rec.cardHash !== fp.hash) {
      throw new PreconditionError("idempotency_key was already used with another amount or card");
    }
    if (rec.status === "DECLINED") throw new PreconditionError(`card declined: ${rec.declineReason ?? "declined"}`);
    return rec;
  }

  async function process(rec: ChargeRecord, card: CardInput, signal?: AbortSignal): Promise<ChargeRecord> {
    let result;
    try {
      result = await deps.processor.charge({ key: rec.key, amountMinor: rec.amountMinor, currency: rec.currency, card }, signal);
    } catch (err) {
      // Nothing was captured: free the key so a retry can charge. If this delete fails, the
      // lease runs out and the next caller takes the record over instead.
      await deps.store.release(rec.id).catch((e: unknown) => warn("release of a failed charge failed", e));
      throw err;
    }
    const done = await deps.store.finish(rec.id, result.approved ? "SUCCEEDED" : "DECLINED", result.approved ? undefined : result.reason);
    // null: our lease ran out and another caller finished the record; theirs is the answer.
    const final = done ?? (await deps.store.findById(rec.id));
    if (!final) throw new AbortedError("charge was taken over; retry");
    await deps.cache.put(final);
    return final;
  }

  return {
    async charge(req, signal) {
      const { amountMinor, currency, card } = validate(req);
      const fp = fingerprintCard(card, deps.cardKey);
      const cached = await deps.cache.get(req.idempotencyKey);
      if (cached) return answer(cached, amountMinor, currency, fp);

      const waitUntil = Date.now() + maxWaitMs;
      let waits = 0;
      for (;;) {
        const now = new Date();
        const rec: ChargeRecord = {
          id: `ch_${randomBytes(12).toString("base64url")}`,
          key: req.idempotencyKey,
          amountMinor,
          currency,
          cardLast4: fp.last4,
          cardHash: fp.hash,
          status: "PENDING",
          createdAt: now,
          leaseUntil: new Date(now.getTime() + leaseMs),
        };
        if ((await deps.store.insertPending(rec)) === "inserted") {
          return answer(await process(rec, card, signal), amountMinor, currency, fp);
        }
        const existing = await deps.store.findByKey(req.idempotencyKey);
        if (existing) {
          if (existing.status !== "PENDING") {
            await deps.cache.put(existing);
            return answer(existing, amountMinor, currency, fp);
          }
          // Refuse a mismatch at once rather than after the winner finishes.
          answer({ ...existing, status: "SUCCEEDED" }, amountMinor, currency, fp);
          if (existing.leaseUntil.getTime() < Date.now()) {
            const lease = new Date(Date.now() + leaseMs);
            if (await deps.store.takeOver(existing.id, existing.leaseUntil, lease)) {
              return answer(await process({ ...existing, leaseUntil: lease }, card, signal), amountMinor, currency, fp);
            }
          }
        }
        // existing === null: the first caller released the key after a processor failure; loop
        // and try to claim it ourselves.
        if (Date.now() >= waitUntil || signal?.aborted) {
          throw new AbortedError("a charge with this idempotency_key is in progress; retry later");
        }
        // Back off with jitter, and look in the cache first, where the winner puts the finished
        // charge: a storm of waiters re-reading the store every few ms starved the winner of
        // database time (FerretDB finds a charge by key only by scanning the collection).
        waits++;
        await sleep(Math.min(250, pollMs * 2 ** Math.min(waits, 4)) * (0.5 + Math.random() / 2));
        const done = await deps.cache.get(req.idempotencyKey);
        if (done) return answer(done, amountMinor, currency, fp);
      }
    },

    async refund(chargeId, reason) {
      const v = new Violations();
      v.check(ID_RE.test(chargeId), "charge_id", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
      v.check(reason.length <= 500, "reason", "must be at most 500 characters");
      v.throwIfAny();
      const refunded = await deps.store.markRefunded(chargeId, reason, new Date());
      if (refunded) {
        await deps.cache.delete(refunded.key);
        return refunded;
      }
      const rec = await deps.store.findById(chargeId);
      // Declined and pending attempts are not charges: to a client they do not exist.
      if (!rec || (rec.status !== "REFUNDED" && rec.status !== "SUCCEEDED")) throw new NotFoundError(`charge ${chargeId} not found`);
      if (rec.status === "SUCCEEDED") throw new AbortedError("charge changed concurrently; retry");
      return rec;
    },

    async getCharge(chargeId) {
      const v = new Violations();
      v.check(ID_RE.test(chargeId), "charge_id", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
      v.throwIfAny();
      const rec = await deps.store.findById(chargeId);
      if (!rec || (rec.status !== "REFUNDED" && rec.status !== "SUCCEEDED")) throw new NotFoundError(`charge ${chargeId} not found`);
      return rec;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
