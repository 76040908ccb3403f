// Concurrent Charge calls with one idempotency key in one payment process, against the real
// FerretDB and Redis of the test run: the first decides, the others wait for it and get its
// answer, without inserting and reading the store themselves (on FerretDB even a read by _id
// scans: a hundred at once at 70,000 charges ran past the database's deadline). A concurrent call
// with another amount under the key is refused with IDEMPOTENCY_KEY_REUSED, as a later one is.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { reasonOf } from "@shopmesh/mesh";
import { createRedisChargeCache } from "../store/charge-cache.js";
import type { ChargeStore } from "../store/charge-store.js";
import { createMongoChargeStore } from "../store/mongo-charge-store.js";
import { createMongoLedger, type MongoLedger } from "../store/mongo-ledger.js";
import { createPayments } from "./payments.js";
import { createSimulatedProcessor } from "./processor.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const suffix = randomBytes(4).toString("hex");
const dbName = `test_payment_concurrent_${suffix}`;
const processorDb = `${dbName}_processor`;
const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
let store: ChargeStore;
let ledger: MongoLedger;
let redis: Redis;

beforeAll(async () => {
  store = await createMongoChargeStore({ url, db: dbName });
  await store.init();
  ledger = await createMongoLedger({ url, db: processorDb });
  redis = new Redis(process.env.SHOP_TEST_REDIS_URL!);
});

afterAll(async () => {
  await store.close();
  await ledger.close();
  await redis.quit();
  const mongo = await MongoClient.connect(url);
  await mongo.db(dbName).dropDatabase();
  await mongo.db(processorDb).dropDatabase();
  await mongo.close();
});

test("50 concurrent Charge calls with one key make one insert and no read, and all get the one charge", async () => {
  const calls = { insertAttempt: 0, find: 0 };
  const counted: ChargeStore = {
    ...store,
    insertAttempt: (a) => (calls.insertAttempt++, store.insertAttempt(a)),
    find: (id) => (calls.find++, store.find(id)),
  };
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
  const mongo = await MongoClient.connect(url);
  try {
    expect(await mongo.db(processorDb).collection("entries").countDocuments({ _id: key as never })).toBe(1);
  } finally {
    await mongo.close();
  }
});

test("a new key's Charge reads neither Redis nor MongoDB; its retry is answered from Redis after the insert is refused", async () => {
  const calls = { insertAttempt: 0, find: 0, cacheGet: 0 };
  const counted: ChargeStore = {
    ...store,
    insertAttempt: (a) => (calls.insertAttempt++, store.insertAttempt(a)),
    find: (id) => (calls.find++, store.find(id)),
  };
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
