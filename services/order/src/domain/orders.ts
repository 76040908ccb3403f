// The order use cases. PlaceOrder is a saga without transactions (FerretDB has none):
//   reserve  a PENDING order under the unique (user, request_id): one caller wins, the rest wait
//            for its result; the order id is derived from (user, request_id), so it is stable;
//   price    the cart from the catalog;
//   charge   payment with key = order id, so a repeated charge is the same charge;
//   confirm  the order; then empty the cart and report the purchase, both best effort.
// A failure before the charge deletes the reservation: no order, no charge, the cart intact,
// and the same request_id may be placed again. A refused charge records the order FAILED.
// A failure after the charge, or a charge whose outcome is unknown, is settled by refunding:
// the order is recorded FAILED with its reason. See README.md "Saga" for the reasoning.
import { createHash } from "node:crypto";
import { AbortedError, NotFoundError, PreconditionError, UnavailableError, ValidationError, Violations } from "@shopmesh/mesh";
import type { ListCursor, OrderLine, OrderRecord, OrderStore } from "../store/order-store.js";
import { type CardInput, checkCard } from "./card.js";
import type { CartLineIn, Upstreams } from "./upstreams.js";

/** Knobs and dependencies of the order use cases. */
export interface OrdersDeps {
  store: OrderStore;
  upstreams: Upstreams;
  /** How long a reservation belongs to its caller before a retry may take it over, ms. */
  leaseMs?: number;
  /** How long a concurrent PlaceOrder waits for the first call's result, ms. */
  maxWaitMs?: number;
  /** Budget of the compensation steps, which run even after the caller gave up, ms. */
  settleMs?: number;
  /** Deadline of the best-effort RecordPurchase, ms. */
  recordPurchaseMs?: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** The order use cases; userId is the authenticated caller. */
export interface Orders {
  placeOrder(userId: string, requestId: string, card: CardInput | undefined, signal: AbortSignal): Promise<OrderRecord>;
  getOrder(userId: string, orderId: string): Promise<OrderRecord>;
  listOrders(userId: string, pageSize: number, pageToken: string): Promise<{ orders: OrderRecord[]; nextPageToken: string }>;
}

const REQUEST_ID_RE = /^[A-Za-z0-9_:.-]{1,128}$/;
const ORDER_ID_RE = /^ord_[A-Za-z0-9_-]{1,64}$/;

/** The order id for (user, request_id): stable, so the payment key survives any retry. */
export function orderIdFor(userId: string, requestId: string): string {
  return `ord_${createHash("sha256").update(`${userId}\n${requestId}`).digest("base64url").slice(0, 24)}`;
}

/** "productId:qty,..." in product order: equal carts give equal signatures. */
export function cartSignature(lines: CartLineIn[]): string {
  return [...lines].sort((a, b) => (a.productId < b.productId ? -1 : 1)).map((l) => `${l.productId}:${l.quantity}`).join(",");
}

/** Creates the order use cases. */
export function createOrders(deps: OrdersDeps): Orders {
  const { store, upstreams } = deps;
  const leaseMs = deps.leaseMs ?? 30_000;
  const maxWaitMs = deps.maxWaitMs ?? 10_000;
  const settleMs = deps.settleMs ?? 5_000;
  const recordPurchaseMs = deps.recordPurchaseMs ?? 300;
  const log = deps.log ?? { warn() {}, error() {} };

  // The answer for an order someone else placed (or an earlier attempt of this request).
  function answerExisting(o: OrderRecord, sig: string): OrderRecord {
    // An emptied cart is what a retry after success sees; anything else must be the same cart.
    if (sig !== "" && sig !== o.cartSig) throw new PreconditionError("request_id was already used for another cart; use a new request_id");
    if (o.status === "FAILED") throw new PreconditionError(`order ${o.id} failed: ${o.failureReason ?? "unknown"}; use a new request_id`);
    return o;
  }

  // Runs the saga from `rec.phase` for the caller that holds the reservation's lease.
  async function runSaga(rec: OrderRecord, cart: CartLineIn[], card: CardInput, signal: AbortSignal): Promise<OrderRecord> {
    let order = rec;
    if (order.phase === "reserved") {
      try {
        const products = await upstreams.getProducts(cart.map((l) => l.productId), signal);
        const currency = products[0]!.currency;
        if (products.some((p) => p.currency !== currency)) throw new PreconditionError("the cart mixes currencies");
        const items: OrderLine[] = cart.map((l, i) => ({
          productId: l.productId, name: products[i]!.name, quantity: l.quantity, unitPriceMinor: products[i]!.priceMinor,
        }));
        const totalMinor = items.reduce((s, l) => s + l.unitPriceMinor * l.quantity, 0);
        if (totalMinor < 1) throw new PreconditionError("the cart total is zero");
        order = { ...order, items, currency, totalMinor, phase: "charging" };
        // Recorded before charging, so whoever resumes this order charges the same amount.
        await store.update(order.id, { items, currency, totalMinor, phase: "charging" });
      } catch (err) {
        // Nothing was charged: drop the reservation so the same request_id can be placed again.
        await store.release(order.id).catch((e: unknown) => log.error({ err: e, orderId: order.id }, "could not release a reservation"));
        throw err;
      }
    }

    const resumed = rec.phase === "charging";
    const outcome = await upstreams.charge({ key: order.id, amountMinor: order.totalMinor, currency: order.currency, card }, signal);
    if (outcome.kind === "unsent") {
      if (resumed) {
        // An earlier owner may have charged: keep the order for the next retry to resume.
        await store.update(order.id, { leaseUntil: new Date() }).catch(() => {});
      } else {
        await store.release(order.id).catch((e: unknown) => log.error({ err: e, orderId: order.id }, "could not release a reservation"));
      }
      throw outcome.error;
    }
    if (outcome.kind === "refused") {
      await store.update(order.id, { status: "FAILED", failureReason: `payment refused: ${messageOf(outcome.error)}` })
        .catch((e: unknown) => log.error({ err: e, orderId: order.id }, "could not record a refused order"));
      throw outcome.error;
    }
    if (outcome.kind === "unknown") {
      await settleUnknown(order, card, outcome.error);
      throw new UnavailableError("payment did not answer in time; nothing was charged (any charge was refunded)", outcome.error);
    }

    try {
      await store.update(order.id, { status: "CONFIRMED", chargeId: outcome.chargeId });
    } catch (err) {
      await compensate(order, outcome.chargeId, `could not record the order (${messageOf(err)})`);
      throw new UnavailableError("the order could not be recorded; the charge was refunded", err);
    }
    const confirmed: OrderRecord = { ...order, status: "CONFIRMED", chargeId: outcome.chargeId };
    // After the commit point: these may fail without failing the checkout.
    await upstreams.emptyCart(signal).catch((err: unknown) => log.warn({ err, orderId: order.id }, "could not empty the cart after an order"));
    void upstreams.recordPurchase(order.id, cart, AbortSignal.timeout(recordPurchaseMs))
      .catch((err: unknown) => log.warn({ err, orderId: order.id }, "could not report a purchase to recommendation"));
    return confirmed;
  }

  // Refunds a charge and records the order FAILED. Runs on its own budget: the caller may be
  // gone, but money must not stay taken for an order that does not exist.
  async function compensate(order: OrderRecord, chargeId: string, reason: string): Promise<void> {
    try {
      await upstreams.refund(chargeId, reason.slice(0, 500), AbortSignal.timeout(settleMs));
    } catch (err) {
      // Left PENDING with its lease ended: the next PlaceOrder of this request_id resumes it and
      // the invariant check reports it until then.
      log.error({ err, orderId: order.id, chargeId }, "refund failed; order left PENDING for recovery");
      await store.update(order.id, { leaseUntil: new Date() }).catch(() => {});
      return;
    }
    await store.update(order.id, { status: "FAILED", chargeId, failureReason: `${reason}; charge refunded` })
      .catch((err: unknown) => log.error({ err, orderId: order.id }, "could not record a compensated order"));
  }

  // The charge may or may not exist. Charging again with the same key either returns the
  // charge that exists or waits for an in-flight one, so after it no charge can appear later
  // for this key; then it is refunded. (A lookup by key could not rule out a late charge.)
  async function settleUnknown(order: OrderRecord, card: CardInput, cause: unknown): Promise<void> {
    const reason = `payment outcome unknown (${messageOf(cause)})`;
    const outcome = await upstreams.charge({ key: order.id, amountMinor: order.totalMinor, currency: order.currency, card }, AbortSignal.timeout(settleMs));
    if (outcome.kind === "charged") return compensate(order, outcome.chargeId, reason);
    if (outcome.kind === "refused") {
      await store.update(order.id, { status: "FAILED", failureReason: `${reason}; nothing charged` }).catch(() => {});
      return;
    }
    log.error({ err: outcome.error, orderId: order.id }, "payment outcome still unknown; order left PENDING for recovery");
    await store.update(order.id, { leaseUntil: new Date() }).catch(() => {});
  }

  async function placeOrder(userId: string, requestId: string, card: CardInput | undefined, signal: AbortSignal): Promise<OrderRecord> {
    const v = new Violations();
    v.check(REQUEST_ID_RE.test(requestId), "request_id", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
    checkCard(v, card, "card");
    v.throwIfAny();
    const cart = await upstreams.getCart(signal);
    const sig = cartSignature(cart);
    const waitUntil = Date.now() + maxWaitMs;
    let waits = 0;
    for (;;) {
      // By _id, which is derived from (user, request_id): FerretDB 1.x answers only _id lookups
      // from an index, and a miss on any other field scans the whole collection (measured: 60 ms
      // at 1,100 orders, growing with every order).
      const found = await store.findOwned(userId, orderIdFor(userId, requestId));
      const existing = found && found.requestId === requestId ? found : null;
      if (!existing) {
        if (cart.length === 0) throw new PreconditionError("the cart is empty");
        // Fail fast, before any write: with payment's breaker open the charge would be refused.
        if (upstreams.paymentCircuitOpen()) throw new UnavailableError("payment is unavailable (circuit open); nothing was charged, retry later");
        const now = new Date();
        const rec: OrderRecord = {
          id: orderIdFor(userId, requestId), userId, requestId, items: [], currency: "", totalMinor: 0,
          status: "PENDING", phase: "reserved", cartSig: sig, createdAt: now, leaseUntil: new Date(now.getTime() + leaseMs),
        };
        if ((await store.reserve(rec)) === "inserted") return runSaga(rec, cart, card!, signal);
        continue;
      }
      if (existing.status !== "PENDING") return answerExisting(existing, sig);
      answerExisting(existing, sig);
      if (existing.leaseUntil.getTime() < Date.now()) {
        // Resuming means charging (again, with the same key); with payment's breaker open it
        // would fail, so fail fast and leave the order as it is for a later retry.
        if (upstreams.paymentCircuitOpen()) throw new UnavailableError("payment is unavailable (circuit open); this order is still pending, retry later");
        const lease = new Date(Date.now() + leaseMs);
        if (await store.takeOver(existing.id, existing.leaseUntil, lease)) {
          // The previous owner died or gave up: resume where it stopped.
          if (existing.phase === "reserved" && cart.length === 0) {
            await store.release(existing.id);
            throw new PreconditionError("the cart is empty");
          }
          return runSaga({ ...existing, leaseUntil: lease }, cart, card!, signal);
        }
      }
      if (Date.now() >= waitUntil || signal.aborted) throw new AbortedError("this request_id is being placed by another call; retry later");
      // Back off with jitter: a storm of duplicates polling every few ms starves the one call
      // that is placing the order of database time.
      waits++;
      await new Promise((r) => setTimeout(r, Math.min(250, 25 * 2 ** Math.min(waits, 4)) * (0.5 + Math.random() / 2)));
    }
  }

  return {
    placeOrder,
    async getOrder(userId, orderId) {
      const v = new Violations();
      v.check(ORDER_ID_RE.test(orderId), "order_id", "must be an order id (ord_...)");
      v.throwIfAny();
      const o = await store.findOwned(userId, orderId);
      // Another user's order is reported exactly like a missing one: ids leak nothing.
      if (!o) throw new NotFoundError(`order ${orderId} not found`);
      return o;
    },
    async listOrders(userId, pageSize, pageToken) {
      const v = new Violations();
      v.check(Number.isInteger(pageSize) && pageSize >= 0 && pageSize <= 100, "page_size", "must be 0 (default 20) or 1 to 100");
      const after = pageToken ? decodeToken(pageToken, userId) : undefined;
      v.check(after !== null, "page_token", "was not issued by this service for this user");
      v.throwIfAny();
      const size = pageSize || 20;
      const rows = await store.list(userId, size + 1, after ?? undefined);
      const page = rows.slice(0, size);
      const last = page[page.length - 1];
      return { orders: page, nextPageToken: rows.length > size && last ? encodeToken({ createdAt: last.createdAt, id: last.id }, userId) : "" };
    },
  };
}

// The token is a cursor plus a tag of its user. Its contents are not secret: every query is
// filtered by the caller's id anyway, so a forged cursor only pages through the caller's own
// orders; the tag makes another user's token, or garbage, an InvalidArgument.
function userTag(userId: string): string {
  return createHash("sha256").update(`orders-page\n${userId}`).digest("base64url").slice(0, 12);
}

function encodeToken(c: ListCursor, userId: string): string {
  return Buffer.from(JSON.stringify({ t: c.createdAt.getTime(), i: c.id, u: userTag(userId) })).toString("base64url");
}

function decodeToken(token: string, userId: string): ListCursor | null {
  try {
    if (token.length > 512) return null;
    const o = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { t?: unknown; i?: unknown; u?: unknown };
    if (typeof o.t !== "number" || !Number.isFinite(o.t) || typeof o.i !== "string" || !ORDER_ID_RE.test(o.i) || o.u !== userTag(userId)) return null;
    return { createdAt: new Date(o.t), id: o.i };
  } catch {
    return null;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof ValidationError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
