// The charge store against the real FerretDB of the test run: the unique key index is what
// makes Charge exactly-once, so it is tested under a concurrent race.
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import type { ChargeRecord, ChargeStore } from "./charge-store.js";
import { createMongoChargeStore } from "./mongo-charge-store.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const dbName = `test_payment_store_${randomBytes(4).toString("hex")}`;
let store: ChargeStore;

function pending(key: string, over: Partial<ChargeRecord> = {}): ChargeRecord {
  const now = new Date();
  return {
    id: `ch_${randomBytes(8).toString("hex")}`, key, amountMinor: 1299, currency: "USD", cardLast4: "4242",
    cardHash: "h", status: "PENDING", createdAt: now, leaseUntil: new Date(now.getTime() + 10_000), ...over,
  };
}

beforeAll(async () => {
  store = await createMongoChargeStore({ url, db: dbName });
  await store.init();
});

afterAll(async () => {
  await store.close();
  const c = await MongoClient.connect(url);
  await c.db(dbName).dropDatabase();
  await c.close();
});

test("50 concurrent inserts of one key: exactly one wins", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, () => store.insertPending(pending("race-1"))));
  expect(results.filter((r) => r === "inserted")).toHaveLength(1);
  expect(results.filter((r) => r === "duplicate")).toHaveLength(49);
});

test("finish moves PENDING to SUCCEEDED once; refund moves SUCCEEDED to REFUNDED once", async () => {
  const rec = pending("life-1");
  await store.insertPending(rec);
  const done = await store.finish(rec.id, "SUCCEEDED");
  expect(done).toMatchObject({ id: rec.id, status: "SUCCEEDED", amountMinor: 1299 });
  expect(await store.finish(rec.id, "DECLINED", "x")).toBeNull();
  const at = new Date();
  expect(await store.markRefunded(rec.id, "because", at)).toMatchObject({ status: "REFUNDED", refundReason: "because" });
  expect(await store.markRefunded(rec.id, "again", at)).toBeNull();
  expect((await store.findByKey("life-1"))?.refundReason).toBe("because");
});

test("release frees the key of a PENDING record only", async () => {
  const rec = pending("rel-1");
  await store.insertPending(rec);
  await store.release(rec.id);
  expect(await store.findById(rec.id)).toBeNull();
  expect(await store.insertPending(pending("rel-1"))).toBe("inserted");
});

test("takeOver succeeds once per observed lease", async () => {
  const rec = pending("take-1", { leaseUntil: new Date(Date.now() - 1000) });
  await store.insertPending(rec);
  const next = new Date(Date.now() + 5000);
  const wins = await Promise.all([store.takeOver(rec.id, rec.leaseUntil, next), store.takeOver(rec.id, rec.leaseUntil, next)]);
  expect(wins.filter(Boolean)).toHaveLength(1);
});

test("injection-shaped keys are matched literally", async () => {
  await store.insertPending(pending('{"$ne":null}'));
  expect((await store.findByKey('{"$ne":null}'))?.key).toBe('{"$ne":null}');
  expect(await store.findByKey("nothing-like-it")).toBeNull();
});

test("ensureSecret returns one stable value under concurrent first use", async () => {
  const values = await Promise.all(Array.from({ length: 5 }, () => store.ensureSecret("card_hash_key")));
  expect(new Set(values).size).toBe(1);
  expect(values[0]!.length).toBeGreaterThanOrEqual(40);
});
