// What the order saga needs from other services, as plain functions. upstream-clients.ts implements
// them with mesh clients; the saga never sees transport types, and every error it gets (thrown, or
// an outcome's `error`) is already order's own: no upstream message or detail.
import type { CardInput } from "@shopmesh/mesh";

/** A cart line as read from the cart service. */
export interface CartLineIn {
  productId: string;
  quantity: number;
}

/** A product's name and current price. */
export interface PricedProduct {
  id: string;
  name: string;
  priceMinor: number;
  currency: string;
}

/** The outcome of a charge attempt, classified by what it says about the money. */
export type ChargeOutcome =
  /** The money was taken (or had been, for this key). */
  | { kind: "charged"; chargeId: string; amountMinor: number }
  /** Payment decided, for good, that nothing is taken under this key (declined, or voided). */
  | { kind: "declined"; error: unknown }
  /** The key holds another attempt (another card or amount), or payment refused this request:
   * what the key became is not known from this answer; ask. */
  | { kind: "ask"; error: unknown; invalidRequest: boolean }
  /** Never reached the processor (open breaker, processor down): nothing taken by this call. */
  | { kind: "unsent"; error: unknown }
  /** Timeout, cancel, outage: the charge may or may not exist. */
  | { kind: "unknown"; error: unknown };

/** What became of a key, final: payment closes the key when nothing was taken. */
export type Resolution = { charged: true; chargeId: string; amountMinor: number; refunded: boolean } | { charged: false; reason: string };

/** The saga's view of cart, catalog, payment and recommendation. */
export interface Upstreams {
  getCart(signal: AbortSignal): Promise<CartLineIn[]>;
  /**
   * Takes a confirmed order's lines out of its user's cart, once per order (cart's
   * RemoveOrderedItems: no end-user token, so the sweeper can do it too); on `signal`'s budget.
   */
  removeOrderedItems(userId: string, orderId: string, lines: CartLineIn[], signal: AbortSignal): Promise<void>;
  /** Products in the order asked; a PreconditionError when one no longer exists. */
  getProducts(ids: string[], signal: AbortSignal): Promise<PricedProduct[]>;
  charge(req: { key: string; amountMinor: number; currency: string; card: CardInput }, signal: AbortSignal): Promise<ChargeOutcome>;
  /** Asks payment what became of a key; throws when payment cannot be asked. */
  resolveCharge(key: string, signal: AbortSignal): Promise<Resolution>;
  /** Refunds a charge; idempotent. */
  refund(chargeId: string, reason: string, signal: AbortSignal): Promise<void>;
  recordPurchase(orderId: string, items: CartLineIn[], signal: AbortSignal): Promise<void>;
  /** True while order's circuit breaker to payment is open: a new order could not be charged. */
  paymentCircuitOpen(): boolean;
}
