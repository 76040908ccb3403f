// Shop steps the scenarios share: products to buy, filling a cart, placing an order the way a
// careful client does (the same request_id until the order is final), and the money invariant.
import { randomUUID } from "node:crypto";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService as CatalogV1 } from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { checkInvariants, type InvariantReport } from "@shopmesh/books";
import { GOOD_CARD, type Outcome, type TestUser, type UnaryClient } from "./edge-client.js";
import { sleep } from "./mesh-control.js";

/** The local mesh's FerretDB. */
export const MONGO_URL = "mongodb://127.0.0.1:27018/";

/** Ids of the first `n` catalog products in stock (through the edge). */
export async function productIds(edge: UnaryClient, n: number): Promise<string[]> {
  const page = await edge.call(CatalogService.method.listProducts, { pageSize: 50 });
  if (page.code !== 0 || !page.res) throw new Error(`ListProducts: ${page.codeName} ${page.message}`);
  const ids = page.res.products.filter((p) => p.stock > 10).map((p) => p.id).slice(0, n);
  if (ids.length < n) throw new Error(`only ${ids.length} products in stock`);
  return ids;
}

/** Adds one item to the user's cart; throws on failure (carts are set up before faults). */
export async function addItem(edge: UnaryClient, user: TestUser, productId: string, quantity = 1): Promise<void> {
  const r = await edge.call(CartService.method.addItem, { productId, quantity }, { token: user.token });
  if (r.code !== 0) throw new Error(`AddItem: ${r.codeName} ${r.message}`);
}

/**
 * A buyer who orders one item at a time, like a careful client: it keeps the same request_id
 * after any failure (so a retry can never order twice) and takes a new one only once the order
 * is CONFIRMED or the request is final (FAILED_PRECONDITION). Its `step` is one PlaceOrder.
 */
export interface Buyer {
  readonly user: TestUser;
  /** One PlaceOrder (filling the cart first when the last order emptied it; a failed AddItem is the outcome then). */
  step(timeoutMs?: number): Promise<Outcome>;
  /** The request still in doubt (its last attempt failed without a final answer), if any. */
  readonly unsettled: string | undefined;
  /** Orders confirmed by this buyer. */
  readonly confirmed: number;
}

/** Creates a buyer for `user` ordering `productId`. */
export function createBuyer(edge: UnaryClient, user: TestUser, productId: string): Buyer {
  let requestId: string | undefined;
  let cartFilled = false;
  let confirmed = 0;
  return {
    user,
    get unsettled() { return requestId; },
    get confirmed() { return confirmed; },
    async step(timeoutMs = 10_000) {
      if (!cartFilled) {
        // A failed AddItem is this step's outcome (cart may be the process a scenario killed).
        const added = await edge.call(CartService.method.addItem, { productId, quantity: 1 }, { token: user.token, timeoutMs });
        if (added.code !== 0) return added;
        cartFilled = true;
      }
      requestId ??= randomUUID();
      const o = await edge.call(OrderService.method.placeOrder, { requestId, card: GOOD_CARD }, { token: user.token, timeoutMs });
      if (o.code === 0) {
        confirmed++;
        cartFilled = false;
        requestId = undefined;
      } else if (o.codeName === "FAILED_PRECONDITION") {
        // Final for this request_id (refused, or compensated): the cart is still filled.
        requestId = undefined;
      }
      return o;
    },
  };
}

/** Retries each buyer's request in doubt until it is final; returns how many needed it. */
export async function settleBuyers(buyers: Buyer[], timeoutMs = 30_000): Promise<number> {
  const doubtful = buyers.filter((b) => b.unsettled !== undefined);
  const deadline = Date.now() + timeoutMs;
  await Promise.all(doubtful.map(async (b) => {
    while (b.unsettled !== undefined) {
      if (Date.now() > deadline) throw new Error(`request ${b.unsettled} is still not final after ${timeoutMs} ms`);
      const o = await b.step();
      if (o.code !== 0 && o.codeName !== "FAILED_PRECONDITION") await sleep(200);
    }
  }));
  return doubtful.length;
}

/**
 * The money invariant, polled until it holds or `timeoutMs` passes (a saga may still be
 * compensating after its caller gave up); returns the last report.
 */
export async function invariantsSettled(timeoutMs = 15_000): Promise<InvariantReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await checkInvariants({ mongoUrl: MONGO_URL });
    if (r.ok || Date.now() > deadline) return r;
    await sleep(250);
  }
}

/** One catalog read as a browsing user makes it: v2 GetProduct, v2 ListProducts or v1 GetProduct, in turn. */
export function catalogRead(edge: UnaryClient, ids: string[], worker: number, i: number): Promise<Outcome> {
  const id = ids[(worker * 7 + i) % ids.length]!;
  switch (i % 3) {
    case 0: return edge.call(CatalogService.method.getProduct, { id }, { timeoutMs: 5_000 });
    case 1: return edge.call(CatalogService.method.listProducts, { pageSize: 10 }, { timeoutMs: 5_000 });
    default: return edge.call(CatalogV1.method.getProduct, { id }, { timeoutMs: 5_000 });
  }
}
