// One valid request per RPC, as the owner user would send it, plus what each RPC answers when a
// different signed-in user sends the owner's request (its business rule, not an auth failure).
// Builders prepare the state they need (a filled cart, a fresh refresh token, a charge) through the
// real services, so the valid case is OK for real.
import { randomBytes } from "node:crypto";
import { fromJson, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import type { Client } from "@connectrpc/connect";
import { createClient } from "@shopmesh/mesh";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { readSeedProducts } from "../../services/catalog/src/seed/seed.js";
import { registry, type Rpc } from "./contracts.js";
import type { Shop } from "./shop.js";

/** A signed-in user of the fixture. */
export interface TestUser {
  id: string;
  email: string;
  password: string;
  /** Access JWT from the test signer (roles: admin, so role checks never hide ownership checks). */
  token: string;
}

/** Users, typed clients and known ids the builders use. */
export interface Fixture {
  /** Owns every resource the valid requests name. */
  owner: TestUser;
  /** Another registered user, same roles. */
  other: TestUser;
  /** A seeded product id. */
  productId: string;
  /** An order of the owner's. */
  orderId: string;
  /** A charge made for the owner. */
  chargeId: string;
  auth: Client<typeof AuthService>;
  cart: Client<typeof CartService>;
  order: Client<typeof OrderService>;
  payment: Client<typeof PaymentService>;
}

/** A valid test card (public test data; the processor approves it). */
export const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
/** The test users' password (not the e2e one, so the log scanner's check stays meaningful). */
export const password = "security-suite-pw-1";

const uniq = () => randomBytes(6).toString("hex");
const as = (u: TestUser) => ({ headers: { authorization: `Bearer ${u.token}` } });

/** A valid request body (proto JSON) of one RPC; may prepare server state for the owner first. */
export type Builder = (f: Fixture) => Promise<JsonObject>;

/** What a valid request answers when `other` sends it instead of the owner (default OK). */
interface Entry { build: Builder; otherUser?: number; note?: string }

/** The table, keyed by "pkg.Service/Method". */
export const validRequests: Record<string, Entry> = {
  "shop.auth.v1.AuthService/Register": { build: async () => ({ email: `new-${uniq()}@example.com`, password, displayName: "New Shopper" }) },
  "shop.auth.v1.AuthService/Login": { build: async (f) => ({ email: f.owner.email, password }) },
  "shop.auth.v1.AuthService/Refresh": { build: async (f) => ({ refreshToken: await refreshToken(f) }) },
  "shop.auth.v1.AuthService/Logout": { build: async (f) => ({ refreshToken: await refreshToken(f) }) },
  "shop.auth.v1.AuthService/GetUser": { build: async (f) => ({ userId: f.owner.id }), otherUser: status.NOT_FOUND,
    note: "another user's id is NotFound (no hint that it exists)" },
  "shop.catalog.v1.CatalogService/GetProduct": { build: async (f) => ({ id: f.productId }) },
  "shop.catalog.v1.CatalogService/ListProducts": { build: async () => ({ pageSize: 5 }) },
  "shop.catalog.v1.CatalogService/SearchProducts": { build: async () => ({ query: "tea", pageSize: 5 }) },
  "shop.catalog.v2.CatalogService/GetProduct": { build: async (f) => ({ id: f.productId }) },
  "shop.catalog.v2.CatalogService/BatchGetProducts": { build: async (f) => ({ ids: [f.productId] }) },
  "shop.catalog.v2.CatalogService/ListProducts": { build: async () => ({ pageSize: 5 }) },
  "shop.catalog.v2.CatalogService/SearchProducts": { build: async () => ({ query: "tea", pageSize: 5 }) },
  "shop.catalog.v2.CatalogService/UpsertProduct": {
    build: async () => ({ product: { id: `sec-${uniq()}`, name: "Security Mug", description: "d", price: { currencyCode: "USD", amountMinor: "500" }, categories: ["kitchen"], stock: 3 } }),
  },
  "shop.catalog.v2.CatalogService/WatchProduct": { build: async (f) => ({ id: f.productId }) },
  "shop.cart.v1.CartService/AddItem": { build: async (f) => ({ productId: f.productId, quantity: 1 }) },
  "shop.cart.v1.CartService/RemoveItem": { build: async (f) => ({ productId: f.productId }) },
  "shop.cart.v1.CartService/GetCart": { build: async () => ({}), note: "another user gets their own cart" },
  "shop.cart.v1.CartService/EmptyCart": { build: async () => ({}), note: "another user empties their own cart" },
  "shop.cart.v1.CartService/RemoveOrderedItems": {
    build: async (f) => ({ userId: f.owner.id, orderId: `ord_sec${uniq()}`, lines: [{ productId: f.productId, quantity: 1 }] }),
    note: "cart is reachable here only by order; the user is named in the request, as order's sweeper must",
  },
  "shop.payment.v1.PaymentService/Charge": { build: async () => ({ idempotencyKey: `sec-${uniq()}`, amount: { currencyCode: "USD", amountMinor: "100" }, card }) },
  "shop.payment.v1.PaymentService/Refund": { build: async (f) => ({ chargeId: await newCharge(f), reason: "test" }),
    note: "payment is reachable only by order; charges are not scoped to end users" },
  "shop.payment.v1.PaymentService/ResolveCharge": { build: async () => ({ idempotencyKey: `sec-${uniq()}` }),
    note: "payment is reachable only by order; keys are not scoped to end users (a fresh key resolves as not charged)" },
  "shop.payment.v1.PaymentService/GetCharge": { build: async (f) => ({ chargeId: f.chargeId }),
    note: "payment is reachable only by order; charges are not scoped to end users" },
  "shop.order.v1.OrderService/PlaceOrder": {
    build: async (f) => {
      await f.cart.addItem({ productId: f.productId, quantity: 1 }, as(f.owner));
      return { requestId: `req-${uniq()}`, card };
    },
    otherUser: status.FAILED_PRECONDITION, note: "another user places their own (empty) cart",
  },
  "shop.order.v1.OrderService/GetOrder": { build: async (f) => ({ orderId: f.orderId }), otherUser: status.NOT_FOUND,
    note: "own orders only; another user's order is NotFound" },
  "shop.order.v1.OrderService/ListOrders": { build: async () => ({ pageSize: 5 }), note: "another user lists their own orders" },
  "shop.recommendation.v1.RecommendationService/ListRecommendations": { build: async () => ({ maxResults: 3 }) },
  "shop.recommendation.v1.RecommendationService/RecordPurchase": {
    build: async (f) => ({ orderId: `o-${uniq()}`, items: [{ productId: f.productId, quantity: 1 }] }),
  },
};

async function refreshToken(f: Fixture): Promise<string> {
  return (await f.auth.login({ email: f.owner.email, password })).refreshToken;
}

async function newCharge(f: Fixture): Promise<string> {
  const r = await f.payment.charge({ idempotencyKey: `sec-${uniq()}`, amount: { currencyCode: "USD", amountMinor: 100n }, card }, as(f.owner));
  return r.charge!.id;
}

/** Encodes a proto-JSON body as the RPC's request message. */
export function encode(rpc: Rpc, json: JsonObject): Buffer {
  return Buffer.from(toBinary(rpc.method.input, fromJson(rpc.method.input, json, { registry })));
}

/** The valid-request entry of an RPC; throws when the table misses one (a new RPC must be added). */
export function entryOf(rpc: Rpc): Entry {
  const e = validRequests[rpc.key];
  if (e === undefined) throw new Error(`test/security/valid-requests.ts has no valid request for ${rpc.key}`);
  return e;
}

async function registerUser(f: Pick<Fixture, "auth"> & { shop: Shop }, name: string): Promise<TestUser> {
  const email = `${name}-${f.shop.tag}@example.com`;
  const r = await f.auth.register({ email, password, displayName: name });
  const token = await f.shop.mesh.signToken({ sub: r.user!.id, roles: ["admin"] });
  return { id: r.user!.id, email, password, token };
}

/** Registers the owner and another user, places one order and makes one charge for the owner. */
export async function createFixture(shop: Shop): Promise<Fixture> {
  const addr = (s: keyof Shop["ports"]) => `127.0.0.1:${shop.ports[s]}`;
  const opts = { defaultTimeoutMs: 10_000, breaker: false as const, retry: false as const };
  const auth = createClient(AuthService, { target: "auth", address: addr("auth"), config: shop.mesh.config("edge"), ...opts });
  const cart = createClient(CartService, { target: "cart", address: addr("cart"), config: shop.mesh.config("edge"), ...opts });
  const order = createClient(OrderService, { target: "order", address: addr("order"), config: shop.mesh.config("edge"), ...opts });
  const payment = createClient(PaymentService, { target: "payment", address: addr("payment"), config: shop.mesh.config("order"), ...opts });
  const owner = await registerUser({ shop, auth }, "owner");
  const other = await registerUser({ shop, auth }, "other");
  return createFixtureFrom({ owner, other, productId: readSeedProducts()[0]!.id, auth, cart, order, payment });
}

/**
 * The rest of a fixture, from its users and clients, whichever mesh they reach (test/istio's
 * matrix calls through the Istio gateway): one order and one charge for the owner.
 */
export async function createFixtureFrom(parts: Omit<Fixture, "orderId" | "chargeId">): Promise<Fixture> {
  const f: Fixture = { ...parts, orderId: "", chargeId: "" };
  await f.cart.addItem({ productId: f.productId, quantity: 1 }, as(f.owner));
  const placed = await f.order.placeOrder({ requestId: `req-${uniq()}`, card }, as(f.owner));
  f.orderId = placed.order!.id;
  f.chargeId = await newCharge(f);
  return f;
}
