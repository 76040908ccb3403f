// Concurrent Charge calls with one idempotency key in one payment process, against the real
// FerretDB and Redis of the test run: the first decides, the others wait for it and get its
// answer, without inserting and reading the store themselves (on FerretDB even a read by _id
// scans: a hundred at once at 70,000 charges ran past the database's deadline). A concurrent call
// with another amount under the key is refused with IDEMPOTENCY_KEY_REUSED, as a later one is.
import { reasonOf } from "@shopmesh/mesh";
import { createRedisChargeCache } from "../store/charge-cache.js";
import type { ChargeStore } from "../store/charge-store.js";
import { openPaymentStores, type PaymentStores } from "../testing/stores.js";
import { createPayments } from "./payments.js";
import { createSimulatedProcessor } from "./processor.js";

const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
let t: PaymentStores;
beforeAll(async () => {
  t = await openPaymentStores("concurrent");
});
afterAll(() => t.close());

/** The store, counting its attempt inserts and its reads in `calls`. */
function counting(store: ChargeStore, calls: { insertAttempt: number; find: number }): ChargeStore {
  return {
    ...store,
    insertAttempt: (a) => (calls.insertAttempt++, store.insertAttempt(a)),
    find: (id) => (calls.find++, store.find(id)),
  };
}

test("50 concurrent Charge calls with one key make one insert and no read, and all get the one charge", async () => {
  const { store, ledger, redis, suffix, mongo, processorDb } = t;
  const calls = { insertAttempt: 0, find: 0 };
  const counted = counting(store, calls);
  const payments = createPayments({
    store: counted, cache: createRedisChargeCache({ redis, prefix: `test-concurrent-${suffix}:` }),
    processor: createSimulatedProcessor({ ledger }), cardKey: "test-card-key",
  });
  const key = `order-${suffix}`;
  const amount = { currencyCode: "USD", amountMinor: 2599n };
  const results = await Promise.allSettled([
    ...Array.from({ length: 50 }, () => payments.charge({ idempotencyKey: key, amount, card })),
    payments.charge({ idempotencyKey: key, amount: { currencyCode: "USD", amountMinor: 1n }, card }),
  ]);
  const ok = results.slice(0, 50).map((r) => (r.status === "fulfilled" ? r.value : r.reason));
  expect(new Set(ok.map((c) => c.id)).size).toBe(1);
  expect(ok.every((c) => c.status === "SUCCEEDED" && c.amountMinor === 2599)).toBe(true);
  const other = results[50]!;
  expect(other.status).toBe("rejected");
  expect(reasonOf((other as PromiseRejectedResult).reason)?.reason).toBe("IDEMPOTENCY_KEY_REUSED");
  expect(calls).toEqual({ insertAttempt: 1, find: 0 });
  // The book: one capture under the key.
  expect(await mongo.db(processorDb).collection("entries").countDocuments({ _id: key as never })).toBe(1);
});

test("a new key's Charge reads neither Redis nor MongoDB; its retry is answered from Redis after the insert is refused", async () => {
  const { store, ledger, redis, suffix } = t;
  const calls = { insertAttempt: 0, find: 0, cacheGet: 0 };
  const counted = counting(store, calls);
  const cache = createRedisChargeCache({ redis, prefix: `test-first-${suffix}:` });
  const payments = createPayments({
    store: counted, cache: { ...cache, get: (k) => (calls.cacheGet++, cache.get(k)) },
    processor: createSimulatedProcessor({ ledger }), cardKey: "test-card-key",
  });
  const req = { idempotencyKey: `first-${suffix}`, amount: { currencyCode: "USD", amountMinor: 1200n }, card };
  const first = await payments.charge(req);
  expect(first.status).toBe("SUCCEEDED");
  expect(calls).toEqual({ insertAttempt: 1, find: 0, cacheGet: 0 });
  const again = await payments.charge(req);
  expect(again.id).toBe(first.id);
  expect(calls).toEqual({ insertAttempt: 2, find: 0, cacheGet: 1 });
});
