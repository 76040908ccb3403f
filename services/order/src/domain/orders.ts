// The order use cases. PlaceOrder is a saga without transactions, made of facts inserted once
// (docs/architecture.md "The money path"):
//   price    the cart from the catalog (nothing is written before this succeeds);
//   reserve  insert the priced reservation under the id derived from (user, request_id): the
//            first insert stands, so every retry charges the same amount under the same key;
//   charge   payment with key = order id; payment and its processor decide once per key, so a
//            second owner of the order (a retry after a crash) gets the same single charge;
//   settle   insert the outcome; the first one stands and every owner answers with it;
//   then     empty the cart on the service's own budget and report the purchase, best effort.
// Nothing is updated or deleted, and no read decides anything. An order whose outcome is unknown
// stays PENDING until a retry or the sweeper (sweeper.ts) asks payment what became of its key.
import { createHash } from "node:crypto";
import { AbortedError, type CardInput, checkCard, InFlight, NotFoundError, PreconditionError, sleep, UnavailableError, ValidationError, Violations, waitFor } from "@shopmesh/mesh";
import type { OrderIndex } from "../store/order-index.js";
import { type ListCursor, mergeOrder, type OrderLine, type OrderOutcome, type OrderRecord, type OrderStore, type Reservation } from "../store/order-store.js";
import type { CartLineIn, Resolution, Upstreams } from "./upstreams.js";

/** Knobs and dependencies of the order use cases. */
export interface OrdersDeps {
  store: OrderStore;
  index: OrderIndex;
  upstreams: Upstreams;
  /** How long an order belongs to the call that reserved it before others may settle it, ms. */
  leaseMs?: number;
  /** How long a concurrent PlaceOrder waits for the first call's result, ms. */
  maxWaitMs?: number;
  /** Budget of the steps that run even after the caller gave up (settling, refunds, the cart), ms. */
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
  /** Settles an order nobody is placing any more (its lease is over): asks payment, never charges. */
  settleAbandoned(o: OrderRecord): Promise<OrderRecord>;
  /** Refunds the charge a FAILED order holds; idempotent. */
  refundOwed(o: OrderRecord): Promise<void>;
  /** True while this process runs the saga of the order. */
  inFlight(orderId: string): boolean;
  /** Tells the reads that the Redis index may be incomplete (a write to it failed). */
  indexDirty(): boolean;
  markIndexClean(): void;
}

const REQUEST_ID_RE = /^[A-Za-z0-9_:.-]{1,128}$/;
const ORDER_ID_RE = /^ord_[A-Za-z0-9_-]{1,64}$/;

/** The order id for (user, request_id): stable, so the payment key survives any retry. */
export function orderIdFor(userId: string, requestId: string): string {
  return `ord_${createHash("sha256").update(`${userId}\n${requestId}`).digest("base64url").slice(0, 24)}`;
}

/** Creates the order use cases. */
export function createOrders(deps: OrdersDeps): Orders {
  const { store, index, upstreams } = deps;
  const leaseMs = deps.leaseMs ?? 30_000;
  const maxWaitMs = deps.maxWaitMs ?? 10_000;
  const settleMs = deps.settleMs ?? 5_000;
  const recordPurchaseMs = deps.recordPurchaseMs ?? 300;
  const log = deps.log ?? { warn() {}, error() {} };
  // The sagas this process runs, by order id: a duplicate call here waits for its promise.
  const running = new InFlight<OrderRecord>();
  let dirty = false;
  const budget = () => AbortSignal.timeout(settleMs);

  async function indexPut(o: OrderRecord): Promise<void> {
    if (!(await index.put(o))) dirty = true;
  }

  // The answer for an order that exists: its outcome, whatever the cart holds now.
  function answer(o: OrderRecord): OrderRecord {
    if (o.status === "FAILED") throw new PreconditionError(`order ${o.id} failed: ${o.failureReason ?? "unknown"}; use a new request_id`);
    return o;
  }

  // Inserts the outcome; returns the order as it stands (another owner's outcome may have won).
  async function settle(r: Reservation, outcome: Omit<OrderOutcome, "at">): Promise<OrderRecord> {
    const stands = await store.settle(r.id, { ...outcome, at: new Date() });
    const o = mergeOrder(r, stands);
    if (o.status === "FAILED" && o.chargeId) await refundOwed(o);
    // Whoever confirms it (the saga, a second owner, the sweeper) takes its lines out of the cart;
    // cart does it once per order. Items added meanwhile stay. Best effort: the order stands.
    if (o.status === "CONFIRMED") {
      await upstreams.removeOrderedItems(o.userId, o.id, o.items.map((l) => ({ productId: l.productId, quantity: l.quantity })), budget())
        .catch((err: unknown) => log.warn({ err, orderId: o.id }, "could not take the order's lines out of the cart"));
    }
    await indexPut(o);
    return o;
  }

  async function refundOwed(o: OrderRecord): Promise<void> {
    try {
      await upstreams.refund(o.chargeId!, (o.failureReason ?? "order failed").slice(0, 500), budget());
      await index.done(o.id);
    } catch (err) {
      // The outcome says a refund is owed; the sweeper retries it until payment confirms.
      log.error({ err, orderId: o.id, chargeId: o.chargeId }, "refund failed; the sweeper will retry it");
    }
  }

  // Records a charge that exists as the order's outcome. A charge of another amount (an attempt
  // under this key from before, with other lines) cannot pay this order: it is refunded.
  async function confirm(r: Reservation, chargeId: string, amountMinor: number): Promise<OrderRecord> {
    if (amountMinor !== r.totalMinor) {
      return settle(r, { status: "FAILED", chargeId, failureReason: `the charge under this order's key was for ${amountMinor}, not ${r.totalMinor}; charge refunded` });
    }
    try {
      return await settle(r, { status: "CONFIRMED", chargeId });
    } catch (err) {
      // The write may or may not have landed. Deciding FAILED is a second insert under the same
      // id: if CONFIRMED landed, it stands and nothing is refunded; else FAILED stands and refunds.
      log.error({ err, orderId: r.id }, "could not record a confirmed order; compensating");
      let o: OrderRecord;
      try {
        o = await settle(r, { status: "FAILED", chargeId, failureReason: "could not record the order; charge refunded" });
      } catch (again) {
        throw new UnavailableError("the order could not be recorded; it stays PENDING and is settled within a minute", again);
      }
      if (o.status === "FAILED") throw new UnavailableError("the order could not be recorded; the charge was refunded", err);
      return o;
    }
  }

  // Settles from payment's final answer about the key.
  async function settleResolved(r: Reservation, res: Resolution, why: string): Promise<OrderRecord> {
    if (res.charged && !res.refunded) return confirm(r, res.chargeId, res.amountMinor);
    if (res.charged) return settle(r, { status: "FAILED", chargeId: res.chargeId, failureReason: `${why}; the charge was refunded` });
    return settle(r, { status: "FAILED", failureReason: `${why}; nothing charged (${res.reason})` });
  }

  // Asks payment on the service's own budget; null when payment cannot answer (stays PENDING).
  async function askPayment(r: Reservation, why: string): Promise<OrderRecord | null> {
    try {
      return await settleResolved(r, await upstreams.resolveCharge(r.id, budget()), why);
    } catch (err) {
      log.warn({ err, orderId: r.id }, "payment could not say what became of a charge; the order stays PENDING for the sweeper");
      return null;
    }
  }

  // Charges the reservation and settles it, for whichever caller owns it now.
  function runSaga(r: Reservation, card: CardInput, signal: AbortSignal): Promise<OrderRecord> {
    return running.run(r.id, () => saga(r, card, signal));
  }

  async function saga(r: Reservation, card: CardInput, signal: AbortSignal): Promise<OrderRecord> {
    const outcome = await upstreams.charge({ key: r.id, amountMinor: r.totalMinor, currency: r.currency, card }, signal);
    let o: OrderRecord | null;
    switch (outcome.kind) {
      case "charged":
        o = await confirm(r, outcome.chargeId, outcome.amountMinor);
        break;
      case "declined":
        o = await settle(r, { status: "FAILED", failureReason: `payment refused: ${messageOf(outcome.error)}` });
        if (o.status === "FAILED") throw outcome.error;
        break;
      case "ask":
        o = await askPayment(r, `payment refused this attempt (${messageOf(outcome.error)})`);
        if (!o) throw new UnavailableError("payment could not confirm this order's charge; it stays PENDING and is settled within a minute", outcome.error);
        // Payment's own field violations say more than "order failed".
        if (o.status === "FAILED" && !o.chargeId && outcome.invalidRequest) throw outcome.error;
        break;
      case "unsent":
        // Nothing taken by this call: the order stays PENDING, and a retry of the request_id resumes it.
        throw new UnavailableError("payment is unavailable; nothing was charged, retry with the same request_id", outcome.error);
      case "unknown":
        o = await askPayment(r, `payment outcome unknown (${messageOf(outcome.error)})`);
        if (!o) throw new UnavailableError("payment did not answer; the order stays PENDING and is settled within a minute", outcome.error);
        break;
    }
    if (o.status === "CONFIRMED") {
      void upstreams.recordPurchase(r.id, r.items.map((l) => ({ productId: l.productId, quantity: l.quantity })), AbortSignal.timeout(recordPurchaseMs))
        .catch((err: unknown) => log.warn({ err, orderId: r.id }, "could not report a purchase to recommendation"));
    }
    return answer(o);
  }

  async function price(cart: CartLineIn[], signal: AbortSignal): Promise<{ items: OrderLine[]; currency: string; totalMinor: number }> {
    const products = await upstreams.getProducts(cart.map((l) => l.productId), signal);
    const currency = products[0]!.currency;
    if (products.some((p) => p.currency !== currency)) throw new PreconditionError("the cart mixes currencies");
    const items: OrderLine[] = cart.map((l, i) => ({
      productId: l.productId, name: products[i]!.name, quantity: l.quantity, unitPriceMinor: products[i]!.priceMinor,
    }));
    const totalMinor = items.reduce((s, l) => s + l.unitPriceMinor * l.quantity, 0);
    if (totalMinor < 1) throw new PreconditionError("the cart total is zero");
    return { items, currency, totalMinor };
  }

  // An order that exists: answer it, wait for its owner, or resume it.
  async function existing(userId: string, id: string, card: CardInput, signal: AbortSignal): Promise<OrderRecord> {
    const waitUntil = Date.now() + maxWaitMs;
    for (let waits = 0; ; waits++) {
      // Its owner runs here: wait for that saga, not for the store (a hundred duplicates polling
      // MongoDB, where even a read by _id scans, ran past the database's deadline at 70,000 orders).
      const owner = running.get(id);
      if (owner) {
        const done = await waitFor(owner, waitUntil - Date.now(), signal);
        if (done === "gave up") throw new AbortedError("this request_id is being placed by another call; retry later");
        // Its answer is this call's answer; when the saga failed, the store says what stands.
        if (done.ok && done.value.userId === userId) return done.value;
      }
      // A final view is the order's answer for good; only a PENDING or missing one needs MongoDB.
      const seen = await index.get(id);
      if (seen && seen.userId === userId && seen.status !== "PENDING") return answer(seen);
      const o = await store.findOwned(userId, id);
      if (!o) throw new AbortedError("this request_id is being placed by another call; retry later");
      if (o.status !== "PENDING") return answer(o);
      // Its owner here is still at work within its lease: wait for it. Otherwise resume; a second
      // owner is safe (payment decides once per key, the first outcome stands), only wasted work.
      if (!(running.has(id) && o.leaseUntil.getTime() > Date.now())) {
        if (upstreams.paymentCircuitOpen()) throw new UnavailableError("payment is unavailable (circuit open); this order is still pending, retry later");
        return runSaga(o, card, signal);
      }
      if (Date.now() >= waitUntil || signal.aborted) throw new AbortedError("this request_id is being placed by another call; retry later");
      await sleep(Math.min(250, 25 * 2 ** Math.min(waits, 4)) * (0.5 + Math.random() / 2));
    }
  }

  async function placeOrder(userId: string, requestId: string, card: CardInput | undefined, signal: AbortSignal): Promise<OrderRecord> {
    const v = new Violations();
    v.check(REQUEST_ID_RE.test(requestId), "request_id", "must be 1 to 128 characters of [A-Za-z0-9_:.-]");
    checkCard(v, card, "card");
    v.throwIfAny();
    const id = orderIdFor(userId, requestId);
    // A retry of a finished order is answered from its (immutable) view, before any work.
    const seen = await index.get(id);
    if (seen && seen.userId === userId && seen.status !== "PENDING") return answer(seen);
    if (running.has(id)) return existing(userId, id, card!, signal);
    const cart = await upstreams.getCart(signal);
    if (cart.length === 0) {
      // A retry after success sees an emptied cart: the order, if there is one, is the answer.
      if (await store.findOwned(userId, id)) return existing(userId, id, card!, signal);
      throw new PreconditionError("the cart is empty");
    }
    // Fail fast, before any write: with payment's breaker open the charge would be refused.
    if (upstreams.paymentCircuitOpen()) throw new UnavailableError("payment is unavailable (circuit open); nothing was charged, retry later");
    const priced = await price(cart, signal);
    const now = new Date();
    const r: Reservation = { id, userId, requestId, ...priced, createdAt: now, leaseUntil: new Date(now.getTime() + leaseMs) };
    // On the sweeper's work list before the insert: a crash right after the insert must not leave
    // an order nobody settles. (A view of a losing or failed insert is harmless: PENDING views are
    // checked against Mongo, and the sweeper drops ids with no order.)
    await indexPut(mergeOrder(r, null));
    if ((await store.reserve(r)) === "duplicate") return existing(userId, id, card!, signal);
    return runSaga(r, card!, signal);
  }

  async function getOrder(userId: string, orderId: string): Promise<OrderRecord> {
    const v = new Violations();
    v.check(ORDER_ID_RE.test(orderId), "order_id", "must be an order id (ord_...)");
    v.throwIfAny();
    const seen = await index.get(orderId);
    if (seen && seen.status !== "PENDING") {
      if (seen.userId === userId) return seen;
      throw new NotFoundError(`order ${orderId} not found`);
    }
    const o = await store.findOwned(userId, orderId);
    // Another user's order is reported exactly like a missing one: ids leak nothing.
    if (!o) throw new NotFoundError(`order ${orderId} not found`);
    if (o.status !== "PENDING") await indexPut(o);
    return o;
  }

  async function listOrders(userId: string, pageSize: number, pageToken: string) {
    const v = new Violations();
    v.check(Number.isInteger(pageSize) && pageSize >= 0 && pageSize <= 100, "page_size", "must be 0 (default 20) or 1 to 100");
    const after = pageToken ? decodeToken(pageToken, userId) : undefined;
    v.check(after !== null, "page_token", "was not issued by this service for this user");
    v.throwIfAny();
    const size = pageSize || 20;
    const rows = await pageFromIndex(userId, size + 1, after ?? undefined) ?? await store.list(userId, size + 1, after ?? undefined);
    const page = rows.slice(0, size);
    const last = page[page.length - 1];
    return { orders: page, nextPageToken: rows.length > size && last ? encodeToken({ createdAt: last.createdAt, id: last.id }, userId) : "" };
  }

  // A page from the Redis index; PENDING or missing views are read from Mongo. Undefined when
  // the index cannot be trusted (Redis down, or not rebuilt since a failed write).
  async function pageFromIndex(userId: string, limit: number, after?: ListCursor): Promise<OrderRecord[] | undefined> {
    if (dirty) return undefined;
    const ids = await index.listIds(userId, limit, after);
    if (!ids) return undefined;
    const views = await index.getMany(ids);
    if (!views) return undefined;
    const rows = await Promise.all(ids.map(async (id, i) => {
      const view = views[i];
      return view && view.status !== "PENDING" ? view : store.findOwned(userId, id);
    }));
    return rows.filter((o): o is OrderRecord => o !== null && o.userId === userId);
  }

  return {
    placeOrder,
    getOrder,
    listOrders,
    async settleAbandoned(o) {
      if (o.status !== "PENDING") return o;
      return (await askPayment(o, "abandoned: the call that placed it ended without an outcome")) ?? o;
    },
    refundOwed,
    inFlight: (id) => running.has(id),
    indexDirty: () => dirty,
    markIndexClean: () => {
      dirty = false;
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
