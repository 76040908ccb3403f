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

const byId = async (s: ProductStore) => new Map((await s.all()).map((p) => [p.id, p]));

beforeAll(() => {
  store = createMongoProductStore({ url, db });
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
  const stored = await byId(store);
  expect(stored.size).toBe(fixture.length);
  expect(stored.get(first.id)?.stock).toBe(7);
});

test("upsert replaces; all() reads back plain objects", async () => {
  await store.upsert(product("zz-1", { name: "Old" }));
  await store.upsert(product("zz-1", { name: "New", price: { currencyCode: "USD", amountMinor: 1234 } }));
  const p = (await byId(store)).get("zz-1");
  expect(p).toMatchObject({ id: "zz-1", name: "New", price: { currencyCode: "USD", amountMinor: 1234 } });
  expect(p?.updateTime).toBeInstanceOf(Date);
});

test("replicas seeding an empty store at once all succeed, and each product is stored once", async () => {
  const fresh = createMongoProductStore({ url, db: `${db}_seed` });
  try {
    const fixture = Array.from({ length: 30 }, (_, i) => product(`zz-seed-${i}`, { name: `Seed ${i}` }));
    const counts = await Promise.all([1, 2, 3, 4].map(() => fresh.seed(fixture)));
    expect(counts.every((n) => n >= 0 && n <= 30)).toBe(true);
    expect((await fresh.all()).map((p) => p.id).sort()).toEqual(fixture.map((p) => p.id).sort());
  } finally {
    await fresh.close();
    const c = await MongoClient.connect(url);
    await c.db(`${db}_seed`).dropDatabase();
    await c.close();
  }
});

// FerretDB 1.24's update command keeps one query open per statement that matches a document
// until the whole command returns (internal/handler/msg_update.go: `defer closer.Close()` in its
// loop), and its pool holds 100 connections per database. Three replicas re-seeding 62 existing
// products at once (make up MESH=istio starts catalog, catalog-2 and catalog-v2 together) held all
// 100 and waited for a 101st forever: every later query of the database hung.
test("three replicas seeding a store that holds the products at once finish, and the store still answers", async () => {
  const name = `${db}_reseed`;
  const first = createMongoProductStore({ url, db: name });
  const replicas = [1, 2, 3].map(() => createMongoProductStore({ url, db: name }));
  const within = <T>(ms: number, what: string, p: Promise<T>) => Promise.race([p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms).unref())]);
  try {
    const fixture = Array.from({ length: 62 }, (_, i) => product(`zz-reseed-${i}`, { name: `Reseed ${i}` }));
    expect(await first.seed(fixture)).toBe(62);
    const edited = { ...fixture[0]!, name: "Edited by an admin" };
    await first.upsert(edited);
    expect(await within(10_000, "three seeds", Promise.all(replicas.map((r) => r.seed(fixture))))).toEqual([0, 0, 0]);
    const all = await within(10_000, "reading every product", first.all());
    expect(all.length).toBe(62);
    // Seeding never touches a product that exists.
    expect(all.find((p) => p.id === edited.id)?.name).toBe("Edited by an admin");
  } finally {
    await Promise.all([first, ...replicas].map((s) => s.close().catch(() => undefined)));
  }
}, 30_000);

test("concurrent upserts of one new id all succeed, and one of them is stored", async () => {
  for (let round = 0; round < 5; round++) {
    const id = `zz-race-${round}`;
    const names = Array.from({ length: 20 }, (_, i) => `Racer ${i}`);
    await Promise.all(names.map((name) => store.upsert(product(id, { name }))));
    expect(names).toContain((await byId(store)).get(id)?.name);
  }
});

test("a MongoDB that is down fails the calls, not the creation of the store", async () => {
  const down = createMongoProductStore({ url: "mongodb://127.0.0.1:9/", db });
  try {
    await expect(down.all()).rejects.toThrow(/ECONNREFUSED|connect/);
  } finally {
    await down.close();
  }
}, 20_000);
