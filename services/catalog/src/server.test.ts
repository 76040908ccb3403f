// catalog v1 and v2 end to end in-process: the real server on loopback with mTLS dev certs, real
// FerretDB and Redis, called by the mesh client as the edge.
import { randomBytes } from "node:crypto";
import { createConnection, createServer, type Socket } from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { MongoClient } from "mongodb";
import { Redis } from "ioredis";
import { closeClients, createClient } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { CatalogService as V1 } from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import { CatalogService as V2, type Product, type ProductSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { startRedis, type TestStore } from "../../../test/support/stores.js";
import { parseCatalogConfig } from "./config.js";
import { readSeedProducts } from "./seed/seed.js";
import { seedOnly, startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const suffix = randomBytes(4).toString("hex");
const dbs = [`test_catalog_${suffix}`, `test_catalog_${suffix}_b`, `test_catalog_${suffix}_seed`, `test_catalog_${suffix}_down`,
  `test_catalog_${suffix}_two`, `test_catalog_${suffix}_resync`, `test_catalog_${suffix}_start`, `test_catalog_${suffix}_reconnect`];
const prefix = `test-catalog-${suffix}:`;
const seed = readSeedProducts();
let mesh: TestMesh;
let v1: Client<typeof V1>;
let v2: Client<typeof V2>;
let admin: { headers: { authorization: string } };
let shopper: { headers: { authorization: string } };
let ownRedis: TestStore | undefined;

function config(db: string, redis: string, pfx: string, mongo = mongoUrl, env: Record<string, string> = {}) {
  return { ...parseCatalogConfig({ PORT: "0", ADMIN_PORT: "0", MONGO_URL: mongo, MONGO_DB: db, REDIS_URL: redis,
    REDIS_PREFIX: pfx, ...env }), mesh: mesh.config("catalog") };
}

function clientOf(port: number): Client<typeof V2> {
  return createClient(V2, { address: `127.0.0.1:${port}`, config: mesh.config("edge"), target: "catalog", breaker: false,
    retry: false });
}

/** Polls until check() is true; returns the ms it took, or throws after timeoutMs. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`not true after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP proxy in front of the test FerretDB, to take "Mongo" down (every connection cut, new ones refused) and up. */
async function mongoProxy(): Promise<{ url: string; down(): void; up(): void; close(): Promise<void> }> {
  const target = new URL(mongoUrl);
  const sockets = new Set<Socket>();
  let up = true;
  const server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    const pair = [client, upstream];
    for (const s of pair) {
      sockets.add(s);
      s.on("error", () => pair.forEach((x) => x.destroy()));
      s.on("close", () => {
        sockets.delete(s);
        pair.forEach((x) => x.destroy());
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `mongodb://127.0.0.1:${port}/`,
    down() {
      up = false;
      for (const s of sockets) s.destroy();
    },
    up() {
      up = true;
    },
    close: () => new Promise<void>((resolve) => {
      up = false;
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

function fields(err: ConnectError): string[] {
  return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)).sort();
}

function usd(amountMinor: number) {
  return { currencyCode: "USD", amountMinor: BigInt(amountMinor) };
}

type ProductInit = MessageInitShape<typeof ProductSchema>;

interface ProductOverrides {
  name?: string;
  description?: string;
  price?: { currencyCode: string; amountMinor: bigint };
  categories?: string[];
  stock?: number;
}

function newProduct(id: string, over: ProductOverrides = {}): ProductInit {
  return { id, name: `Test ${id}`, description: "made by a test", pictureUrl: "/static/img/test.jpg", price: usd(999),
    categories: ["test"], stock: 5, ...over };
}

beforeAll(async () => {
  mesh = await createTestMesh();
  const { port } = await startServer(config(dbs[0]!, redisUrl, prefix));
  const edge = { address: `127.0.0.1:${port}`, config: mesh.config("edge"), target: "catalog", breaker: false as const,
    retry: false as const };
  v1 = createClient(V1, edge);
  v2 = createClient(V2, edge);
  admin = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "u_admin", roles: ["admin"] })}` } };
  shopper = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: "u_shopper" })}` } };
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await ownRedis?.stop();
  mesh.dispose();
  const m = await MongoClient.connect(mongoUrl);
  for (const db of dbs) await m.db(db).dropDatabase();
  await m.close();
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}*`);
  if (keys.length > 0) await r.del(...keys);
  r.disconnect();
});

describe("GetProduct and BatchGetProducts", () => {
  const first = seed[0]!;
  test("v1 and v2 read the same seeded product", async () => {
    const a = (await v1.getProduct({ id: first.id })).product!;
    const b = (await v2.getProduct({ id: first.id })).product!;
    expect(a).toMatchObject({ id: first.id, name: first.name, priceUsdCents: BigInt(first.priceUsdCents),
      categories: first.categories });
    expect(b).toMatchObject({ id: first.id, name: first.name, stock: first.stock, categories: first.categories });
    expect(b.price).toMatchObject(usd(first.priceUsdCents));
    expect(b.updateTime).toBeDefined();
    // A second read is identical.
    expect((await v2.getProduct({ id: first.id })).product).toEqual(b);
  });

  test("unknown id is NotFound, malformed id InvalidArgument, on both versions", async () => {
    expect((await failure(v1.getProduct({ id: "NOPE0000" }))).code).toBe(Code.NotFound);
    expect((await failure(v2.getProduct({ id: "NOPE0000" }))).code).toBe(Code.NotFound);
    for (const id of ["", "has space", '{"$ne": null}', "x".repeat(65)]) {
      const err = await failure(v2.getProduct({ id }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(fields(err)).toEqual(["id"]);
    }
    expect((await failure(v1.getProduct({ id: "a.b" }))).code).toBe(Code.InvalidArgument);
  });

  test("BatchGetProducts answers in the order asked; any unknown id is NotFound by name", async () => {
    const ids = [seed[3]!.id, seed[1]!.id, seed[3]!.id];
    const res = await v2.batchGetProducts({ ids });
    expect(res.products.map((p) => p.id)).toEqual(ids);
    const nf = await failure(v2.batchGetProducts({ ids: [seed[1]!.id, "MISSING42"] }));
    expect(nf.code).toBe(Code.NotFound);
    expect(nf.rawMessage).toContain("MISSING42");
    expect(fields(await failure(v2.batchGetProducts({ ids: [] })))).toEqual(["ids"]);
    expect(fields(await failure(v2.batchGetProducts({ ids: Array(101).fill(seed[0]!.id) })))).toEqual(["ids"]);
    expect(fields(await failure(v2.batchGetProducts({ ids: [seed[0]!.id, "bad id"] })))).toEqual(["ids[1]"]);
  });
});

describe("ListProducts", () => {
  test("v1 pages through every product in id order with opaque tokens", async () => {
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const res = await v1.listProducts({ pageSize: 25, pageToken: token });
      seen.push(...res.products.map((p) => p.id));
      token = res.nextPageToken;
      pages++;
    } while (token !== "" && pages < 10);
    expect(seen.length).toBeGreaterThanOrEqual(seed.length);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect((await v1.listProducts({})).products).toHaveLength(20);
  });

  test("page_size out of range is InvalidArgument", async () => {
    expect(fields(await failure(v1.listProducts({ pageSize: 101 })))).toEqual(["page_size"]);
    expect(fields(await failure(v2.listProducts({ pageSize: -1 })))).toEqual(["page_size"]);
  });

  test("tampered tokens and tokens of another query are InvalidArgument", async () => {
    const t1 = (await v1.listProducts({ pageSize: 5 })).nextPageToken;
    const [payload, sig] = t1.split(".");
    const forged = `${Buffer.from(JSON.stringify({ a: "ZZZZ" })).toString("base64url")}.${sig}`;
    for (const pageToken of [forged, `${payload}.${sig}x`, "garbage", `${payload}`]) {
      const err = await failure(v1.listProducts({ pageSize: 5, pageToken }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(fields(err)).toEqual(["page_token"]);
    }
    // A v1 token on v2, and a kitchen token on a garden listing.
    expect(fields(await failure(v2.listProducts({ pageSize: 5, pageToken: t1 })))).toEqual(["page_token"]);
    const kitchen = (await v2.listProducts({ pageSize: 2, category: "kitchen" })).nextPageToken;
    expect(kitchen).not.toBe("");
    expect((await v2.listProducts({ pageSize: 2, category: "kitchen", pageToken: kitchen })).products.length).toBe(2);
    expect(fields(await failure(v2.listProducts({ pageSize: 2, category: "garden", pageToken: kitchen }))))
      .toEqual(["page_token"]);
    // page_size may change between pages.
    expect((await v2.listProducts({ pageSize: 7, category: "kitchen", pageToken: kitchen })).products.length)
      .toBeGreaterThan(0);
  });

  test("v2 filters by category and price range, across pages", async () => {
    const min = usd(1000);
    const max = usd(3000);
    const got: Product[] = [];
    let token = "";
    do {
      const res = await v2.listProducts({ pageSize: 4, pageToken: token, minPrice: min, maxPrice: max });
      got.push(...res.products);
      token = res.nextPageToken;
    } while (token !== "");
    const expected = seed.filter((p) => p.priceUsdCents >= 1000 && p.priceUsdCents <= 3000).map((p) => p.id).sort();
    expect(got.map((p) => p.id)).toEqual(expected);
    const kitchenCheap = await v2.listProducts({ pageSize: 100, category: "kitchen", maxPrice: usd(2500) });
    expect(kitchenCheap.products.map((p) => p.id)).toEqual(
      seed.filter((p) => p.categories.includes("kitchen") && p.priceUsdCents <= 2500).map((p) => p.id).sort());
    // A known currency the catalog does not price in lists nothing.
    expect((await v2.listProducts({ minPrice: { currencyCode: "EUR", amountMinor: 0n } })).products).toEqual([]);
  });

  test("bad filters are InvalidArgument with field violations", async () => {
    expect(fields(await failure(v2.listProducts({ minPrice: usd(500), maxPrice: usd(100) })))).toEqual(["min_price"]);
    expect(fields(await failure(v2.listProducts({ minPrice: { currencyCode: "XYZ", amountMinor: 1n } }))))
      .toEqual(["min_price.currency_code"]);
    expect(fields(await failure(v2.listProducts({ maxPrice: { currencyCode: "USD", amountMinor: -5n } }))))
      .toEqual(["max_price.amount_minor"]);
    expect(fields(await failure(v2.listProducts({ minPrice: usd(1), maxPrice: { currencyCode: "EUR", amountMinor: 9n } }))))
      .toEqual(["max_price.currency_code"]);
    expect(fields(await failure(v2.listProducts({ category: "Not A Slug" })))).toEqual(["category"]);
  });
});

describe("SearchProducts", () => {
  test("case-insensitive over name and description, name hits first", async () => {
    const res = await v1.searchProducts({ query: "LEATHER" });
    const names = res.products.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["Leather Belt", "Leather Wallet", "Canvas Tote Bag"]));
    // Name hits rank before description-only hits (the tote bag only has "leather handles").
    const inName = names.filter((n) => n.toLowerCase().includes("leather"));
    expect(inName.length).toBeGreaterThanOrEqual(2);
    expect(names.slice(0, inName.length)).toEqual(inName);
    const byDescription = await v2.searchProducts({ query: "jasmine" });
    expect(byDescription.products.map((p) => p.name)).toEqual(["Single-Origin Beans, Ethiopia"]);
    expect((await v2.searchProducts({ query: "e", pageSize: 3 })).products).toHaveLength(3);
  });

  test("the query is literal: regex and operator shapes match only themselves", async () => {
    expect((await v2.searchProducts({ query: ".*" })).products).toEqual([]);
    expect((await v2.searchProducts({ query: '{"$ne": null}' })).products).toEqual([]);
    expect((await v2.searchProducts({ query: "$where" })).products).toEqual([]);
    await v2.upsertProduct({ product: newProduct("literal-1", { name: "Glob .* Mug", description: 'says {"$ne": null}' }) }, admin);
    expect((await v2.searchProducts({ query: ".*" })).products.map((p) => p.id)).toEqual(["literal-1"]);
    expect((await v1.searchProducts({ query: '{"$NE": NULL}' })).products.map((p) => p.id)).toEqual(["literal-1"]);
  });

  test("empty or too long query and bad page_size are InvalidArgument", async () => {
    expect(fields(await failure(v1.searchProducts({ query: "" })))).toEqual(["query"]);
    expect(fields(await failure(v2.searchProducts({ query: "   " })))).toEqual(["query"]);
    expect(fields(await failure(v2.searchProducts({ query: "q".repeat(101) })))).toEqual(["query"]);
    expect(fields(await failure(v2.searchProducts({ query: "mug", pageSize: 1000 })))).toEqual(["page_size"]);
  });
});

describe("UpsertProduct", () => {
  test("admin creates and replaces; reads see the change at once", async () => {
    const created = (await v2.upsertProduct({ product: newProduct("upsert-1") }, admin)).product!;
    expect(created).toMatchObject({ id: "upsert-1", stock: 5 });
    expect(created.updateTime).toBeDefined();
    expect((await v2.getProduct({ id: "upsert-1" })).product?.price).toMatchObject(usd(999));
    await v2.upsertProduct({ product: newProduct("upsert-1", { price: usd(1499), stock: 0 }) }, admin);
    expect((await v2.getProduct({ id: "upsert-1" })).product).toMatchObject({ price: usd(1499), stock: 0 });
    expect((await v1.getProduct({ id: "upsert-1" })).product?.priceUsdCents).toBe(1499n);
    expect((await v2.batchGetProducts({ ids: ["upsert-1"] })).products[0]?.stock).toBe(0);
  });

  test("no token is Unauthenticated, no admin role PermissionDenied", async () => {
    expect((await failure(v2.upsertProduct({ product: newProduct("upsert-2") }))).code).toBe(Code.Unauthenticated);
    expect((await failure(v2.upsertProduct({ product: newProduct("upsert-2") }, shopper))).code)
      .toBe(Code.PermissionDenied);
    expect((await failure(v2.getProduct({ id: "upsert-2" }))).code).toBe(Code.NotFound);
  });

  test("a malformed product lists every bad field", async () => {
    const err = await failure(v2.upsertProduct({ product: {
      id: "bad id", name: "", description: "d".repeat(2001), pictureUrl: "has space", price: { currencyCode: "usd", amountMinor: -1n },
      categories: ["Kitchen", "ok"], stock: -3 } }, admin));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(fields(err)).toEqual(["product.categories[0]", "product.description", "product.id", "product.name",
      "product.picture_url", "product.price.amount_minor", "product.price.currency_code", "product.stock"]);
    expect(fields(await failure(v2.upsertProduct({ product: newProduct("eur-1", { price: { currencyCode: "EUR", amountMinor: 5n } }) }, admin))))
      .toEqual(["product.price.currency_code"]);
    expect(fields(await failure(v2.upsertProduct({ product: newProduct("nocat", { categories: [] }) }, admin))))
      .toEqual(["product.categories"]);
    expect((await failure(v2.upsertProduct({}, admin))).code).toBe(Code.InvalidArgument);
  });
});

describe("WatchProduct", () => {
  test("streams the current product, then price and stock changes, until cancelled", async () => {
    await v2.upsertProduct({ product: newProduct("watch-1", { price: usd(100), stock: 10 }) }, admin);
    const abort = new AbortController();
    const stream = v2.watchProduct({ id: "watch-1" }, { signal: abort.signal, timeoutMs: 10_000 });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.product).toMatchObject({ id: "watch-1", price: usd(100), stock: 10 });
    await v2.upsertProduct({ product: newProduct("watch-1", { price: usd(100), stock: 10, name: "renamed only" }) }, admin);
    await v2.upsertProduct({ product: newProduct("watch-1", { price: usd(80), stock: 10 }) }, admin);
    await v2.upsertProduct({ product: newProduct("watch-1", { price: usd(80), stock: 9 }) }, admin);
    const second = await it.next();
    expect(second.value?.product).toMatchObject({ price: usd(80), stock: 10 });
    const third = await it.next();
    expect(third.value?.product).toMatchObject({ price: usd(80), stock: 9 });
    abort.abort();
    const end = await it.next().then((r) => r, (err: unknown) => ConnectError.from(err));
    expect(end instanceof ConnectError ? end.code : "done").toBe(Code.Canceled);
  });

  test("unknown id is NotFound, malformed id InvalidArgument", async () => {
    const drain = async (id: string) => {
      for await (const _ of v2.watchProduct({ id }, { timeoutMs: 5_000 })) { /* expect none */ }
    };
    expect((await failure(drain("NOPE0000"))).code).toBe(Code.NotFound);
    expect(fields(await failure(drain("bad id")))).toEqual(["id"]);
  });
});

test("--seed-only loads the fixture once, idempotently", async () => {
  const cfg = config(dbs[2]!, redisUrl, prefix);
  expect(await seedOnly(cfg)).toBe(seed.length);
  expect(await seedOnly(cfg)).toBe(0);
});

describe("Redis down", () => {
  test("reads go on from the view with no errors; a change event that cannot be published is counted", async () => {
    ownRedis = await startRedis();
    const pfx = `${prefix}b:`;
    const started = await startServer(config(dbs[1]!, ownRedis.url, pfx));
    const c = createClient(V2, { address: `127.0.0.1:${started.port}`, config: mesh.config("edge"), target: "catalog",
      breaker: false, retry: false });
    const id = seed[5]!.id;
    await c.getProduct({ id });
    // GetProduct latency with Redis up (sequential calls, loopback, mTLS).
    const n = 200;
    let t = performance.now();
    for (let i = 0; i < n; i++) await c.getProduct({ id });
    const upMs = (performance.now() - t) / n;

    await ownRedis.stop();
    ownRedis = undefined;
    let errors = 0;
    t = performance.now();
    for (let i = 0; i < n; i++) {
      try {
        await c.getProduct({ id: seed[i % seed.length]!.id });
      } catch {
        errors++;
      }
    }
    const downMs = (performance.now() - t) / n;
    const batch = await c.batchGetProducts({ ids: seed.slice(0, 10).map((p) => p.id) });
    const list = await c.listProducts({ pageSize: 10 });
    expect(errors).toBe(0);
    expect(batch.products).toHaveLength(10);
    expect(list.products).toHaveLength(10);
    // Upsert still works (the write goes to Mongo and this replica's view; the event is lost and counted).
    await c.upsertProduct({ product: newProduct("down-1") }, admin);
    expect((await c.getProduct({ id: "down-1" })).product?.id).toBe("down-1");
    // Watching needs Redis: a clear Unavailable, not a hang.
    const watch = async () => { for await (const _ of c.watchProduct({ id }, { timeoutMs: 5_000 })) { /* none */ } };
    expect((await failure(watch())).code).toBe(Code.Unavailable);

    const metrics = await (await fetch(`http://127.0.0.1:${started.adminPort}/metrics`)).text();
    const counted = [...metrics.matchAll(/^shop_catalog_redis_errors_total\{op="publish"\} (\d+)/gm)].map((m) => Number(m[1]));
    expect(counted[0]).toBeGreaterThanOrEqual(1);
    // eslint-disable-next-line no-console
    console.log(`catalog GetProduct: redis up ${upMs.toFixed(3)} ms/call, redis down ${downMs.toFixed(3)} ms/call`);
    expect(downMs).toBeLessThan(50);
  }, 30_000);
});

describe("The view", () => {
  test("once loaded, every read answers with Mongo and Redis both down; writes are UNAVAILABLE", async () => {
    const mongo = await mongoProxy();
    const redis = await startRedis();
    try {
      const started = await startServer(config(dbs[3]!, redis.url, `${prefix}down:`, mongo.url));
      const c = clientOf(started.port);
      await redis.stop();
      mongo.down();
      const p = seed[7]!;
      expect((await c.getProduct({ id: p.id })).product).toMatchObject({ id: p.id, name: p.name, stock: p.stock });
      const ids = seed.slice(10, 20).map((x) => x.id);
      expect((await c.batchGetProducts({ ids })).products.map((x) => x.id)).toEqual(ids);
      const page = await c.listProducts({ pageSize: 100 });
      expect(page.products.map((x) => x.id)).toEqual(seed.map((x) => x.id).sort());
      expect((await c.searchProducts({ query: "jasmine" })).products.map((x) => x.name)).toEqual(["Single-Origin Beans, Ethiopia"]);
      expect((await failure(c.getProduct({ id: "NOPE0000" }))).code).toBe(Code.NotFound);
      // The driver gives up selecting a server after 3 s: Unavailable, unless the caller's deadline comes first.
      expect((await failure(c.upsertProduct({ product: newProduct("down-2") }, { ...admin, timeoutMs: 10_000 }))).code)
        .toBe(Code.Unavailable);
    } finally {
      await redis.stop();
      await mongo.close();
    }
  }, 60_000);

  test("an upsert on one replica reaches the other's reads within a second", async () => {
    const pfx = `${prefix}two:`;
    const a = clientOf((await startServer(config(dbs[4]!, redisUrl, pfx))).port);
    const b = clientOf((await startServer(config(dbs[4]!, redisUrl, pfx))).port);
    const took: number[] = [];
    for (let round = 0; round < 5; round++) {
      const name = `Converging ${round} mug`;
      const price = usd(1_000 + round);
      // b reads first, so it holds the version before the write.
      await b.getProduct({ id: "conv-1" }).catch(() => undefined);
      await a.upsertProduct({ product: newProduct("conv-1", { name, price }) }, admin);
      took.push(await until(async () => (await b.getProduct({ id: "conv-1" })).product?.price?.amountMinor === price.amountMinor
        && (await b.searchProducts({ query: name.toUpperCase() })).products.length === 1
        && (await b.listProducts({ category: "test", pageSize: 100 })).products.some((x) => x.name === name), 5_000));
    }
    // eslint-disable-next-line no-console
    console.log(`replica b converged in ${took.map((t) => t.toFixed(1)).join(", ")} ms`);
    expect(Math.max(...took)).toBeLessThan(1_000);
  }, 60_000);

  test("a change no event announced reaches the view at the next resync", async () => {
    const started = await startServer(config(dbs[5]!, redisUrl, `${prefix}resync:`, mongoUrl, { VIEW_RESYNC_SECONDS: "1" }));
    const c = clientOf(started.port);
    const [changed, removed] = [seed[2]!, seed[3]!];
    expect((await c.getProduct({ id: changed.id })).product?.price?.amountMinor).toBe(BigInt(changed.priceUsdCents));
    expect((await c.getProduct({ id: removed.id })).product?.id).toBe(removed.id);
    // Behind catalog's back: straight to Mongo, no event.
    const m = await MongoClient.connect(mongoUrl);
    try {
      const products = m.db(dbs[5]!).collection<Record<string, unknown> & { _id: string }>("products");
      await products.updateOne({ _id: changed.id }, { $set: { "price.amountMinor": 4242, updateTime: new Date() } });
      await products.deleteOne({ _id: removed.id });
      await products.insertOne({ _id: "behind-1", name: "Behind The Back", description: "", pictureUrl: "/p.jpg",
        price: { currencyCode: "USD", amountMinor: 1 }, categories: ["test"], stock: 1, updateTime: new Date() });
    } finally {
      await m.close();
    }
    const took = await until(async () => (await c.getProduct({ id: changed.id })).product?.price?.amountMinor === 4242n
      && (await c.searchProducts({ query: "behind the" })).products.length === 1
      && (await failure(c.getProduct({ id: removed.id }))).code === Code.NotFound, 10_000);
    expect(took).toBeLessThan(3_000);
  }, 60_000);

  test("when its Redis subscription comes back the view reloads at once, not a period later", async () => {
    const redis = await startRedis();
    const m = await MongoClient.connect(mongoUrl);
    try {
      const started = await startServer(config(dbs[7]!, redis.url, `${prefix}reconnect:`)); // the default period
      const c = clientOf(started.port);
      const p = seed[4]!;
      expect((await c.getProduct({ id: p.id })).product?.stock).toBe(p.stock);
      // A change whose event was lost: written behind catalog's back, then the subscriber drops.
      await m.db(dbs[7]!).collection<{ _id: string }>("products").updateOne({ _id: p.id }, { $set: { stock: 777, updateTime: new Date() } });
      const r = new Redis(redis.url);
      await r.client("KILL", "TYPE", "pubsub");
      r.disconnect();
      expect(await until(async () => (await c.getProduct({ id: p.id })).product?.stock === 777, 20_000)).toBeLessThan(5_000);
    } finally {
      await m.close();
      await redis.stop();
    }
  }, 60_000);

  test("with Mongo down at start catalog answers UNAVAILABLE and NOT_SERVING, and loads once Mongo is back", async () => {
    const mongo = await mongoProxy();
    mongo.down();
    try {
      const started = await startServer(config(dbs[6]!, redisUrl, `${prefix}start:`, mongo.url));
      const c = clientOf(started.port);
      const health = async () => (await fetch(`http://127.0.0.1:${started.adminPort}/healthz`)).status;
      expect(await health()).toBe(503);
      expect((await failure(c.getProduct({ id: seed[0]!.id }))).code).toBe(Code.Unavailable);
      expect((await failure(c.listProducts({}))).code).toBe(Code.Unavailable);
      expect((await failure(c.searchProducts({ query: "mug" }))).code).toBe(Code.Unavailable);
      mongo.up();
      await until(async () => (await health()) === 200, 30_000);
      expect((await c.getProduct({ id: seed[0]!.id })).product?.name).toBe(seed[0]!.name);
    } finally {
      await mongo.close();
    }
  }, 60_000);
});
