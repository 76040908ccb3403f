// The cart store against real Redis: the Lua add keeps its limits under concurrency, the TTL is
// set on every change, and a dead Redis is a fast UnavailableError.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { UnavailableError } from "@shopmesh/mesh";
import { startRedis } from "../../../../test/support/stores.js";
import type { CartStore } from "./cart-store.js";
import { createRedisCartStore } from "./redis-cart-store.js";

const url = process.env.SHOP_TEST_REDIS_URL!;
const prefix = `test_${randomBytes(4).toString("hex")}:cart:`;
let store: CartStore;
let raw: Redis;

beforeAll(async () => {
  store = await createRedisCartStore({ url, prefix });
  raw = new Redis(url);
});

afterAll(async () => {
  const keys = await raw.keys(`${prefix}*`);
  if (keys.length) await raw.del(...keys);
  raw.disconnect();
  await store.close();
});

test("adds, sums, sorts by product id and sets a 7-day TTL", async () => {
  await store.add("u1", "b-2", 2);
  await store.add("u1", "a-1", 1);
  const res = await store.add("u1", "b-2", 3);
  expect(res).toEqual({ ok: true, items: [{ productId: "a-1", quantity: 1 }, { productId: "b-2", quantity: 5 }] });
  const ttl = await raw.ttl(`${prefix}u1`);
  expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 10);
  expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
});

test("30 concurrent adds of 5 never pass 99", async () => {
  const results = await Promise.all(Array.from({ length: 30 }, () => store.add("u2", "p", 5)));
  expect(results.filter((r) => r.ok)).toHaveLength(19);
  expect(results.find((r) => !r.ok)).toEqual({ ok: false, reason: "quantity_limit", current: 95 });
  expect(await store.get("u2")).toEqual([{ productId: "p", quantity: 95 }]);
});

test("the 51st distinct product is refused, more of an existing one is not", async () => {
  for (let i = 0; i < 50; i++) await store.add("u3", `p${String(i).padStart(2, "0")}`, 1);
  expect(await store.add("u3", "extra", 1)).toEqual({ ok: false, reason: "item_limit" });
  expect((await store.add("u3", "p00", 1)).ok).toBe(true);
  expect(await store.get("u3")).toHaveLength(50);
});

test("remove and empty are idempotent; an unknown cart is empty", async () => {
  await store.add("u4", "x", 1);
  await store.add("u4", "y", 1);
  expect(await store.remove("u4", "x")).toEqual([{ productId: "y", quantity: 1 }]);
  expect(await store.remove("u4", "x")).toEqual([{ productId: "y", quantity: 1 }]);
  await store.empty("u4");
  await store.empty("u4");
  expect(await store.get("u4")).toEqual([]);
  expect(await store.get("nobody")).toEqual([]);
});

test("user ids and product ids are keys and fields, never patterns", async () => {
  await store.add("u5*", '{"$ne":null}', 1);
  expect(await store.get("u5")).toEqual([]);
  expect(await store.get("u5*")).toEqual([{ productId: '{"$ne":null}', quantity: 1 }]);
});

test("a dead Redis gives UnavailableError fast", async () => {
  const own = await startRedis();
  const s = await createRedisCartStore({ url: own.url, prefix: "t:" });
  await s.add("u", "p", 1);
  await own.stop();
  const started = Date.now();
  await expect(s.get("u")).rejects.toBeInstanceOf(UnavailableError);
  await expect(s.add("u", "p", 1)).rejects.toBeInstanceOf(UnavailableError);
  expect(Date.now() - started).toBeLessThan(3000);
  await s.close();
});

test("an order's lines are subtracted once per order id; a line at zero goes, the others stay", async () => {
  await store.add("u6", "lamp", 3);
  await store.add("u6", "mug", 1);
  expect(await store.removeOrdered("u6", "ord_a", [{ productId: "lamp", quantity: 2 }, { productId: "mug", quantity: 1 }])).toBe(true);
  expect(await store.get("u6")).toEqual([{ productId: "lamp", quantity: 1 }]);
  // A repeat of the same order changes nothing; another order subtracts again.
  expect(await store.removeOrdered("u6", "ord_a", [{ productId: "lamp", quantity: 2 }])).toBe(false);
  expect(await store.get("u6")).toEqual([{ productId: "lamp", quantity: 1 }]);
  // More than the cart holds (the user removed some meanwhile) takes the line away, never below zero.
  expect(await store.removeOrdered("u6", "ord_b", [{ productId: "lamp", quantity: 5 }, { productId: "gone", quantity: 1 }])).toBe(true);
  expect(await store.get("u6")).toEqual([]);
  expect(await raw.exists(`${prefix}u6`)).toBe(0);
});
