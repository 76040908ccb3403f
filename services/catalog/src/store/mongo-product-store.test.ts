// The Mongo product store against the real FerretDB of jest's globalSetup.
import { MongoClient } from "mongodb";
import { randomBytes } from "node:crypto";
import { readSeedProducts, seedCatalog, toRecords } from "../seed/seed.js";
import { createMongoProductStore } from "./mongo-product-store.js";
import type { ProductRecord, ProductStore } from "./product-store.js";

const url = process.env.SHOP_TEST_MONGO_URL!;
const db = `test_catalog_store_${randomBytes(4).toString("hex")}`;
let store: ProductStore;

function product(id: string, over: Partial<ProductRecord> = {}): ProductRecord {
  return { id, name: `Product ${id}`, description: "plain", pictureUrl: "/p.jpg",
    price: { currencyCode: "USD", amountMinor: 1000 }, categories: ["misc"], stock: 1, updateTime: new Date(), ...over };
}

beforeAll(async () => {
  store = await createMongoProductStore({ url, db });
});

afterAll(async () => {
  await store.close();
  const c = await MongoClient.connect(url);
  await c.db(db).dropDatabase();
  await c.close();
});

test("seeding is idempotent and keeps later edits", async () => {
  const fixture = readSeedProducts();
  expect(fixture.length).toBeGreaterThanOrEqual(50);
  expect(await seedCatalog(store)).toBe(fixture.length);
  const first = fixture[0]!;
  await store.upsert({ ...toRecords([first])[0]!, stock: 7 });
  expect(await seedCatalog(store)).toBe(0);
  expect(await store.count()).toBe(fixture.length);
  expect((await store.get(first.id))?.stock).toBe(7);
});

test("upsert replaces, get and getMany read back plain objects", async () => {
  await store.upsert(product("zz-1", { name: "Old" }));
  await store.upsert(product("zz-1", { name: "New", price: { currencyCode: "USD", amountMinor: 1234 } }));
  const p = await store.get("zz-1");
  expect(p).toMatchObject({ id: "zz-1", name: "New", price: { currencyCode: "USD", amountMinor: 1234 } });
  expect(p?.updateTime).toBeInstanceOf(Date);
  expect(await store.get("zz-unknown")).toBeUndefined();
  const many = await store.getMany(["zz-1", "zz-unknown"]);
  expect(many.map((x) => x.id)).toEqual(["zz-1"]);
});

test("replicas seeding an empty store at once all succeed, and each product is stored once", async () => {
  const fresh = await createMongoProductStore({ url, db: `${db}_seed` });
  try {
    const fixture = Array.from({ length: 30 }, (_, i) => product(`zz-seed-${i}`, { name: `Seed ${i}` }));
    const counts = await Promise.all([1, 2, 3, 4].map(() => fresh.seed(fixture)));
    expect(counts.every((n) => n >= 0 && n <= 30)).toBe(true);
    expect((await fresh.getMany(fixture.map((p) => p.id))).map((p) => p.id)).toEqual(fixture.map((p) => p.id));
  } finally {
    await fresh.close();
    const c = await MongoClient.connect(url);
    await c.db(`${db}_seed`).dropDatabase();
    await c.close();
  }
});

test("concurrent upserts of one new id all succeed, and one of them is stored", async () => {
  for (let round = 0; round < 5; round++) {
    const id = `zz-race-${round}`;
    const names = Array.from({ length: 20 }, (_, i) => `Racer ${i}`);
    await Promise.all(names.map((name) => store.upsert(product(id, { name }))));
    expect(names).toContain((await store.get(id))?.name);
  }
});

test("list pages in id order with category and price filters", async () => {
  const page1 = await store.list({ limit: 5 });
  const page2 = await store.list({ limit: 5, afterId: page1[4]!.id });
  const ids = [...page1, ...page2].map((p) => p.id);
  expect(ids).toEqual([...ids].sort());
  expect(new Set(ids).size).toBe(10);

  const kitchen = await store.list({ limit: 100, category: "kitchen" });
  expect(kitchen.length).toBeGreaterThan(3);
  expect(kitchen.every((p) => p.categories.includes("kitchen"))).toBe(true);

  const cheap = await store.list({ limit: 100, price: { currencyCode: "USD", min: 1000, max: 2000 } });
  expect(cheap.length).toBeGreaterThan(3);
  expect(cheap.every((p) => p.price.amountMinor >= 1000 && p.price.amountMinor <= 2000)).toBe(true);
  expect(await store.list({ limit: 100, price: { currencyCode: "EUR" } })).toEqual([]);
});

test("search is case-insensitive over name and description, and literal", async () => {
  await store.upsert(product("zz-regex", { name: "Odd .* name", description: 'has {"$ne": null} inside' }));
  const byName = await store.search("ENAMEL", 50);
  expect(byName.map((p) => p.name)).toContain("Enamel Camp Mug");
  const byDescription = await store.search("jasmine", 50);
  expect(byDescription.map((p) => p.name)).toEqual(["Single-Origin Beans, Ethiopia"]);
  expect((await store.search(".*", 50)).map((p) => p.id)).toEqual(["zz-regex"]);
  expect((await store.search('{"$ne": null}', 50)).map((p) => p.id)).toEqual(["zz-regex"]);
  expect(await store.search("(unclosed[", 50)).toEqual([]);
});
