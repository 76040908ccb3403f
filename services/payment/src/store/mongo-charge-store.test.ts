// The charge store against the real FerretDB of the test run: every fact is an insert under a
// unique `_id`, the one write FerretDB makes atomic, so each is tested under a concurrent race.
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import type { ChargeAttempt, ChargeStore } from "./charge-store.js";
import { createMongoChargeStore } from "./mongo-charge-store.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const dbName = `test_payment_store_${randomBytes(4).toString("hex")}`;
let store: ChargeStore;

function attempt(key: string, over: Partial<ChargeAttempt> = {}): ChargeAttempt {
  return { id: `ch_${key}`, key, amountMinor: 1299, currency: "USD", cardLast4: "4242", cardHash: "h", createdAt: new Date(), ...over };
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

test("50 concurrent attempts under one id: exactly one lands", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.insertAttempt(attempt("race-1", { amountMinor: i + 1 }))));
  expect(results.filter(Boolean)).toHaveLength(1);
  const winner = results.indexOf(true) + 1;
  expect(await store.find("ch_race-1")).toMatchObject({ status: "PENDING", amountMinor: winner });
});

test("the first outcome and the first refund stand, whoever writes after", async () => {
  await store.insertAttempt(attempt("life-1"));
  const at = new Date();
  const outcomes = await Promise.all([
    store.insertOutcome("ch_life-1", { status: "SUCCEEDED", at }),
    store.insertOutcome("ch_life-1", { status: "DECLINED", declineReason: "late", at }),
  ]);
  expect(outcomes[0]).toEqual(outcomes[1]);
  const stands = outcomes[0]!.status;
  expect(await store.find("ch_life-1")).toMatchObject({ status: stands, amountMinor: 1299 });
  if (stands !== "SUCCEEDED") return;
  expect(await store.insertRefund("ch_life-1", { reason: "because", at })).toMatchObject({ reason: "because" });
  expect(await store.insertRefund("ch_life-1", { reason: "again", at })).toMatchObject({ reason: "because" });
  expect(await store.find("ch_life-1")).toMatchObject({ status: "REFUNDED", refundReason: "because" });
});

test("a refund of a charge that did not succeed does not make it REFUNDED", async () => {
  await store.insertAttempt(attempt("dec-1"));
  await store.insertOutcome("ch_dec-1", { status: "DECLINED", declineReason: "card_declined", at: new Date() });
  await store.insertRefund("ch_dec-1", { reason: "x", at: new Date() });
  expect(await store.find("ch_dec-1")).toMatchObject({ status: "DECLINED", declineReason: "card_declined" });
});

test("injection-shaped ids are matched literally", async () => {
  await store.insertAttempt(attempt('{"$ne":null}'));
  expect((await store.find('ch_{"$ne":null}'))?.key).toBe('{"$ne":null}');
  expect(await store.find("nothing-like-it")).toBeNull();
});

test("ensureSecret returns one stable value under concurrent first use", async () => {
  const values = await Promise.all(Array.from({ length: 5 }, () => store.ensureSecret("card_hash_key")));
  expect(new Set(values).size).toBe(1);
  expect(values[0]!.length).toBeGreaterThanOrEqual(40);
});
