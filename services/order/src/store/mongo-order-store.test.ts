// The order store against the real FerretDB of the test run.
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { createMongoOrderStore } from "./mongo-order-store.js";
import type { OrderRecord, OrderStore } from "./order-store.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const dbName = `test_order_store_${randomBytes(4).toString("hex")}`;
let store: OrderStore;

function order(userId: string, requestId: string, over: Partial<OrderRecord> = {}): OrderRecord {
  const now = new Date();
  return {
    id: `ord_${randomBytes(8).toString("hex")}`, userId, requestId, items: [], currency: "USD", totalMinor: 0,
    status: "PENDING", phase: "reserved", cartSig: "p:1", createdAt: now, leaseUntil: new Date(now.getTime() + 10_000), ...over,
  };
}

beforeAll(async () => {
  store = await createMongoOrderStore({ url, db: dbName });
  await store.init();
});

afterAll(async () => {
  await store.close();
  const c = await MongoClient.connect(url);
  await c.db(dbName).dropDatabase();
  await c.close();
});

test("50 concurrent reservations of one (user, request_id): one wins; another user is independent", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, () => store.reserve(order("u1", "r1"))));
  expect(results.filter((r) => r === "inserted")).toHaveLength(1);
  expect(await store.reserve(order("u2", "r1"))).toBe("inserted");
});

test("findOwned hides other users' orders; update and release work", async () => {
  const o = order("u3", "r1");
  await store.reserve(o);
  expect(await store.findOwned("u4", o.id)).toBeNull();
  await store.update(o.id, { status: "CONFIRMED", chargeId: "ch_1", items: [{ productId: "p", name: "P", quantity: 2, unitPriceMinor: 150 }], totalMinor: 300 });
  expect(await store.findOwned("u3", o.id)).toMatchObject({ status: "CONFIRMED", chargeId: "ch_1", totalMinor: 300 });
  await store.release(o.id);
  expect(await store.findOwned("u3", o.id)).not.toBeNull();
  const p = order("u3", "r2");
  await store.reserve(p);
  await store.release(p.id);
  expect(await store.findOwned("u3", p.id)).toBeNull();
});

test("takeOver of one expired lease succeeds once", async () => {
  const o = order("u5", "r1", { leaseUntil: new Date(Date.now() - 5) });
  await store.reserve(o);
  const next = new Date(Date.now() + 5000);
  const wins = await Promise.all(Array.from({ length: 5 }, () => store.takeOver(o.id, o.leaseUntil, next)));
  expect(wins.filter(Boolean)).toHaveLength(1);
});

test("list pages newest first with ties broken by id", async () => {
  const t = new Date("2026-01-01T00:00:00Z");
  for (let i = 0; i < 5; i++) {
    await store.reserve(order("u6", `r${i}`, { id: `ord_u6_${i}`, createdAt: new Date(t.getTime() + (i < 2 ? 0 : i) * 1000) }));
  }
  const first = await store.list("u6", 3);
  expect(first.map((o) => o.id)).toEqual(["ord_u6_4", "ord_u6_3", "ord_u6_2"]);
  const last = first[2]!;
  const second = await store.list("u6", 3, { createdAt: last.createdAt, id: last.id });
  expect(second.map((o) => o.id)).toEqual(["ord_u6_1", "ord_u6_0"]);
});
