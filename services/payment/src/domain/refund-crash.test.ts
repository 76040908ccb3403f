// Refund's crash window, against the real FerretDB and Redis of the test run: Refund writes the
// processor's book first, then payment's own refund fact. A payment that dies between the two has
// given the money back without saying so; a retried Refund must then record it, once, and the
// processor must not refund twice.
import { createRedisChargeCache } from "../store/charge-cache.js";
import type { ChargeStore } from "../store/charge-store.js";
import { openPaymentStores, type PaymentStores } from "../testing/stores.js";
import { createPayments } from "./payments.js";
import { createSimulatedProcessor } from "./processor.js";

let t: PaymentStores;
beforeAll(async () => {
  t = await openPaymentStores("refund");
});
afterAll(() => t.close());

test("a Refund that died after the processor refunded is recorded once by its retry, and the processor refunds once", async () => {
  const { store, ledger, redis, mongo, suffix, dbName, processorDb } = t;
  const cache = createRedisChargeCache({ redis, prefix: `test-refund-${suffix}:` });
  const processor = createSimulatedProcessor({ ledger });
  const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
  const key = `order-${suffix}`;
  const healthy = createPayments({ store, cache, processor, cardKey: "test-card-key" });
  const charge = await healthy.charge({ idempotencyKey: key, amount: { currencyCode: "USD", amountMinor: 2599n }, card });
  expect(charge.status).toBe("SUCCEEDED");

  // The process dies between the processor's refund and payment's own fact: the second write never lands.
  const crashing: ChargeStore = { ...store, insertRefund: () => Promise.reject(new Error("killed before the refund fact")) };
  const dying = createPayments({ store: crashing, cache, processor, cardKey: "test-card-key" });
  await expect(dying.refund(charge.id, "order failed")).rejects.toThrow("killed before the refund fact");
  // The money is back at the processor, and payment's book does not say so yet.
  expect(await mongo.db(processorDb).collection("refunds").countDocuments({ _id: key as never })).toBe(1);
  expect((await store.find(charge.id))?.status).toBe("SUCCEEDED");

  // The retry (the sweeper's, or the caller's) finishes the job.
  const refunded = await healthy.refund(charge.id, "order failed");
  expect(refunded).toMatchObject({ id: charge.id, status: "REFUNDED", refundReason: "order failed" });
  expect(await store.find(charge.id)).toMatchObject({ status: "REFUNDED" });
  // And again: still one refund on each book, and the books agree (capture 2599, refunded 2599).
  await healthy.refund(charge.id, "asked twice");
  const refunds = await mongo.db(processorDb).collection("refunds").find({}).toArray();
  expect(refunds).toEqual([expect.objectContaining({ _id: key, amountMinor: 2599 })]);
  expect(await mongo.db(dbName).collection("refunds").countDocuments({})).toBe(1);
  const entry = await mongo.db(processorDb).collection("entries").findOne({ _id: key as never });
  expect(entry).toMatchObject({ kind: "capture", amountMinor: 2599 });
});
