// NoSQL-injection-shaped strings against the whole shop in-process: in every string field of every
// RPC (found from the contracts) they are either refused as InvalidArgument or handled as plain
// text (stored and matched literally), never run as query operators. Targeted cases read back what
// was stored and check that lookups and searches match only literal text.
import { ScalarType, type DescMessage, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { createClient as meshClient } from "@shopmesh/mesh";
import { CatalogService as CatalogV1 } from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import { CatalogService as CatalogV2 } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { allRpcs } from "./contracts.js";
import { codeName, rawCall } from "./raw-call.js";
import { startShop, type Shop } from "./shop.js";
import { card, createFixture, encode, entryOf, type Fixture } from "./valid-requests.js";

/** Strings a MongoDB-backed service could mistake for operators, JavaScript or patterns. */
const INJECTIONS = ['{"$ne": null}', '{"$gt": ""}', "$where", ".*", "'; return true; //", '{"$regex": ".*"}', "this.password != ''"];

// Any of these is a sane answer to odd text; INTERNAL/UNKNOWN/UNAVAILABLE would mean the input broke something.
const SANE = new Set([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND, status.UNAUTHENTICATED, status.FAILED_PRECONDITION,
  status.ALREADY_EXISTS, status.PERMISSION_DENIED]);

let shop: Shop;
let f: Fixture;
let v1: Client<typeof CatalogV1>;
let v2: Client<typeof CatalogV2>;
const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  shop = await startShop({ recommendation: true });
  f = await createFixture(shop);
  const opts = { defaultTimeoutMs: 10_000, breaker: false as const, retry: false as const };
  v1 = meshClient(CatalogV1, { target: "catalog", address: `127.0.0.1:${shop.ports.catalog}`, config: shop.mesh.config("edge"), ...opts });
  v2 = meshClient(CatalogV2, { target: "catalog", address: `127.0.0.1:${shop.ports.catalog}`, config: shop.mesh.config("edge"), ...opts });
}, 90_000);

afterAll(async () => {
  await shop?.stop();
}, 60_000);

async function codeOf(p: Promise<unknown>): Promise<Code | "OK"> {
  try {
    await p;
    return "OK";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/** JSON paths of every string field (and repeated string field) of a message, nested messages included. */
function stringPaths(desc: DescMessage, prefix: string[] = [], depth = 0): { path: string[]; list: boolean }[] {
  const out: { path: string[]; list: boolean }[] = [];
  for (const fd of desc.fields) {
    const p = [...prefix, fd.jsonName];
    if ((fd.fieldKind === "scalar" || (fd.fieldKind === "list" && fd.listKind === "scalar")) && fd.scalar === ScalarType.STRING) {
      out.push({ path: p, list: fd.fieldKind === "list" });
    } else if (fd.fieldKind === "message" && depth < 2 && !fd.message.typeName.startsWith("google.protobuf.")) {
      out.push(...stringPaths(fd.message, p, depth + 1));
    } else if (fd.fieldKind === "list" && fd.listKind === "message" && depth < 2) {
      // Lists of messages (order items): inject into the first element.
      out.push(...stringPaths(fd.message, [...p, "0"], depth + 1));
    }
  }
  return out;
}

function setPath(body: JsonObject, path: string[], value: JsonValue): JsonObject {
  const copy = structuredClone(body) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (node[key] === undefined || node[key] === null) node[key] = /^\d+$/.test(key) ? [] : {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
  return copy as JsonObject;
}

describe("every string field of every RPC", () => {
  const rpcs = allRpcs();
  const cases = rpcs.flatMap((rpc) => stringPaths(rpc.method.input).map((p) => [`${rpc.key} ${p.path.join(".")}`, rpc, p] as const));

  test("the contracts have string fields to inject into", () => {
    expect(cases.length).toBeGreaterThan(20);
  });

  test.each(cases)("%s", async (_name, rpc, field) => {
    const entry = entryOf(rpc);
    const got: string[] = [];
    for (const inj of INJECTIONS) {
      const body = setPath(await entry.build(f), field.path, field.list ? [inj] : inj);
      const r = await rawCall(shop.raw(rpc.service, rpc.callers[0]), rpc.path, encode(rpc, body),
        { streaming: rpc.method.methodKind === "server_streaming", token: f.owner.token, deadlineMs: 10_000 });
      if (!SANE.has(r.code)) got.push(`${inj}: ${codeName(r.code)} ${r.details}`);
    }
    expect(got).toEqual([]);
  });
});

describe("stored and matched literally", () => {
  test("Register keeps an operator-shaped display name as text; GetUser reads it back unchanged", async () => {
    for (const name of INJECTIONS) {
      const email = `inj-${Math.random().toString(36).slice(2)}@example.com`;
      const r = await f.auth.register({ email, password: "security-suite-pw-1", displayName: name });
      expect(r.user!.displayName).toBe(name);
      const token = await shop.mesh.signToken({ sub: r.user!.id });
      const back = await f.auth.getUser({ userId: r.user!.id }, as(token));
      expect(back.user!.displayName).toBe(name);
    }
  });

  test("Login with operator-shaped email or password never signs anyone in", async () => {
    for (const inj of INJECTIONS) {
      expect([Code.InvalidArgument, Code.Unauthenticated]).toContain(await codeOf(f.auth.login({ email: inj, password: inj })));
      expect([Code.InvalidArgument, Code.Unauthenticated]).toContain(await codeOf(f.auth.login({ email: f.owner.email, password: inj })));
    }
  });

  test("Refresh with an operator-shaped token never issues tokens", async () => {
    for (const inj of INJECTIONS) {
      expect([Code.InvalidArgument, Code.Unauthenticated]).toContain(await codeOf(f.auth.refresh({ refreshToken: inj })));
    }
  });

  test("GetProduct (v1, v2), WatchProduct and BatchGetProducts with an operator-shaped id never return a product", async () => {
    for (const inj of INJECTIONS) {
      expect([Code.InvalidArgument, Code.NotFound]).toContain(await codeOf(v1.getProduct({ id: inj })));
      expect([Code.InvalidArgument, Code.NotFound]).toContain(await codeOf(v2.getProduct({ id: inj })));
      const batch = await v2.batchGetProducts({ ids: [inj] }).then((r) => r.products.length, (e: unknown) => ConnectError.from(e).code);
      expect([Code.InvalidArgument, Code.NotFound, 0]).toContain(batch);
      const watch = v2.watchProduct({ id: inj }, { timeoutMs: 2000 });
      expect([Code.InvalidArgument, Code.NotFound]).toContain(await codeOf((async () => { for await (const _ of watch) break; })()));
    }
  });

  test("search for '.*' and other patterns returns only products that literally contain the text", async () => {
    const literally = (q: string) => (p: { name: string; description: string }) =>
      `${p.name}\n${p.description}`.toLowerCase().includes(q.toLowerCase());
    const id = `inj-${shop.tag}`;
    await v2.upsertProduct({ product: { id, name: "Odd .* {\"$ne\": null} $where mug", description: "'; return true; //",
      price: { currencyCode: "USD", amountMinor: 700n }, categories: ["kitchen"], stock: 1 } }, as(f.owner.token));
    for (const q of INJECTIONS) {
      for (const client of [v1, v2]) {
        const found = await client.searchProducts({ query: q, pageSize: 50 }).then((r) => r.products, (e: unknown) => ConnectError.from(e).code);
        if (typeof found === "number") {
          expect(found).toBe(Code.InvalidArgument);
          continue;
        }
        // A pattern run as a regex or an operator would match the seeded products too.
        expect(found.filter((p) => !literally(q)(p)).map((p) => p.id)).toEqual([]);
        if (literally(q)({ name: "Odd .* {\"$ne\": null} $where mug", description: "'; return true; //" })) expect(found.map((p) => p.id)).toContain(id);
      }
    }
    const back = await v2.getProduct({ id });
    expect(back.product!.name).toBe("Odd .* {\"$ne\": null} $where mug");
    expect(back.product!.description).toBe("'; return true; //");
  });

  test("ListProducts with an operator-shaped category or page token filters nothing in", async () => {
    for (const inj of INJECTIONS) {
      const byCategory = await v2.listProducts({ category: inj, pageSize: 50 }).then((r) => r.products.length, (e: unknown) => ConnectError.from(e).code);
      expect([0, Code.InvalidArgument]).toContain(byCategory);
      expect(await codeOf(v2.listProducts({ pageToken: inj }))).toBe(Code.InvalidArgument);
      expect(await codeOf(f.order.listOrders({ pageToken: inj }, as(f.owner.token)))).toBe(Code.InvalidArgument);
    }
  });

  test("an operator-shaped idempotency key is one literal key: another such key is a different charge", async () => {
    const amount = { currencyCode: "USD", amountMinor: 100n };
    const ids: string[] = [];
    for (const key of INJECTIONS) {
      const r = await f.payment.charge({ idempotencyKey: key, amount, card }, as(f.owner.token)).then((x) => x.charge!, (e: unknown) => ConnectError.from(e).code);
      if (typeof r === "object") {
        expect(r.idempotencyKey).toBe(key);
        ids.push(r.id);
        // The same literal key again is the same charge (exactly once), not a match-anything.
        const again = await f.payment.charge({ idempotencyKey: key, amount, card }, as(f.owner.token));
        expect(again.charge!.id).toBe(r.id);
      } else {
        expect(r).toBe(Code.InvalidArgument);
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const inj of INJECTIONS) {
      expect([Code.InvalidArgument, Code.NotFound]).toContain(await codeOf(f.payment.getCharge({ chargeId: inj }, as(f.owner.token))));
      expect([Code.InvalidArgument, Code.NotFound]).toContain(await codeOf(f.payment.refund({ chargeId: inj, reason: inj }, as(f.owner.token))));
    }
  });

  test("GetOrder with an operator-shaped id never returns an order, not even the caller's own", async () => {
    for (const inj of INJECTIONS) {
      expect([Code.InvalidArgument, Code.NotFound]).toContain(await codeOf(f.order.getOrder({ orderId: inj }, as(f.owner.token))));
    }
  });

  test("cart refuses operator-shaped product ids and leaves the cart as it was", async () => {
    await f.cart.emptyCart({}, as(f.other.token));
    for (const inj of INJECTIONS) {
      expect(await codeOf(f.cart.addItem({ productId: inj, quantity: 1 }, as(f.other.token)))).toBe(Code.InvalidArgument);
      expect(await codeOf(f.cart.removeItem({ productId: inj }, as(f.other.token)))).toBe(Code.InvalidArgument);
    }
    expect((await f.cart.getCart({}, as(f.other.token))).cart?.items ?? []).toEqual([]);
  });
});
