// The order store against the real FerretDB of the test run: reservations and outcomes are
// inserts under the order id, so each "first one stands" is tested under a concurrent race.
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { createMongoOrderStore } from "./mongo-order-store.js";
import type { OrderStore, Reservation } from "./order-store.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const dbName = `test_order_store_${randomBytes(4).toString("hex")}`;
let store: OrderStore;

function reservation(userId: string, requestId: string, over: Partial<Reservation> = {}): Reservation {
  const now = new Date();
  return {
    id: `ord_${userId}_${requestId}`, userId, requestId, items: [{ productId: "p", name: "P", quantity: 2, unitPriceMinor: 150 }],
    currency: "USD", totalMinor: 300, createdAt: now, leaseUntil: new Date(now.getTime() + 10_000), ...over,
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

test("50 concurrent reservations of one order id: one lands, and its lines are the ones kept", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.reserve(reservation("u1", "r1", { totalMinor: i + 1 }))));
  expect(results.filter((r) => r === "inserted")).toHaveLength(1);
  const winner = results.indexOf("inserted") + 1;
  expect(await store.findOwned("u1", "ord_u1_r1")).toMatchObject({ status: "PENDING", totalMinor: winner });
});

test("the first outcome stands against a racing one; findOwned hides other users' orders", async () => {
  await store.reserve(reservation("u3", "r1"));
  const at = new Date();
  const [a, b] = await Promise.all([
    store.settle("ord_u3_r1", { status: "CONFIRMED", chargeId: "ch_1", at }),
    store.settle("ord_u3_r1", { status: "FAILED", failureReason: "stale owner", at }),
  ]);
  expect(a).toEqual(b);
  expect(await store.findOwned("u3", "ord_u3_r1")).toMatchObject({ status: a.status, totalMinor: 300 });
  expect(await store.findOwned("u4", "ord_u3_r1")).toBeNull();
  expect(await store.find("ord_u3_r1")).toMatchObject({ userId: "u3", status: a.status });
});

test("list pages newest first with ties broken by id, outcomes merged", async () => {
  const t = new Date("2026-01-01T00:00:00Z");
  for (let i = 0; i < 5; i++) {
    await store.reserve(reservation("u6", `r${i}`, { id: `ord_u6_${i}`, createdAt: new Date(t.getTime() + (i < 2 ? 0 : i) * 1000) }));
  }
  await store.settle("ord_u6_4", { status: "CONFIRMED", chargeId: "ch_4", at: t });
  const first = await store.list("u6", 3);
  expect(first.map((o) => [o.id, o.status])).toEqual([["ord_u6_4", "CONFIRMED"], ["ord_u6_3", "PENDING"], ["ord_u6_2", "PENDING"]]);
  const last = first[2]!;
  const second = await store.list("u6", 3, { createdAt: last.createdAt, id: last.id });
  expect(second.map((o) => o.id)).toEqual(["ord_u6_1", "ord_u6_0"]);
});

test("scanAll visits every order once, merged", async () => {
  const seen: string[] = [];
  await store.scanAll(async (o) => void seen.push(`${o.id}:${o.status}`));
  expect(seen).toContain("ord_u6_4:CONFIRMED");
  expect(seen.filter((s) => s.startsWith("ord_u6_"))).toHaveLength(5);
});
