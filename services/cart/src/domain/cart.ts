// The cart use cases: validate, make sure the product exists, then change the cart atomically.
import { PreconditionError, ValidationError, Violations } from "@shopmesh/mesh";
import type { CartLine, CartStore } from "../store/cart-store.js";

/** Throws unless the catalog knows the product (NotFound passes through as NotFound). */
export type ProductCheck = (productId: string, signal: AbortSignal) => Promise<void>;

/** The cart use cases; userId is the authenticated caller. */
export interface CartUseCases {
  addItem(userId: string, productId: string, quantity: number, signal: AbortSignal): Promise<CartLine[]>;
  removeItem(userId: string, productId: string): Promise<CartLine[]>;
  getCart(userId: string): Promise<CartLine[]>;
  emptyCart(userId: string): Promise<void>;
  /** Takes a confirmed order's lines out of its user's cart, once per order (caller: order). */
  removeOrderedItems(userId: string, orderId: string, lines: CartLine[]): Promise<void>;
}

/**
 * A product check that remembers the products it found, at most `max` of them (the first found is
 * dropped first). catalog has no delete, only UpsertProduct, so a product that existed still
 * exists: AddItem of a product seen before needs no call to catalog, and still works while catalog
 * is down. A failed check (NotFound included) is not remembered.
 */
export function rememberFound(check: ProductCheck, max: number): ProductCheck {
  const found = new Set<string>();
  return async (productId, signal) => {
    if (found.has(productId)) return;
    await check(productId, signal);
    if (max === 0) return;
    found.add(productId);
    if (found.size > max) found.delete(found.values().next().value!);
  };
}

/** Most units of one product in a cart. */
export const MAX_QUANTITY = 99;
/** Most distinct products in a cart. */
export const MAX_ITEMS = 50;
const PRODUCT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ORDER_ID_RE = /^ord_[A-Za-z0-9_-]{1,64}$/;

/** Creates the cart use cases over a store and a catalog check. */
export function createCart(deps: { store: CartStore; productExists: ProductCheck }): CartUseCases {
  return {
    async addItem(userId, productId, quantity, signal) {
      const v = new Violations();
      v.check(PRODUCT_ID_RE.test(productId), "product_id", "must be 1 to 64 characters of [A-Za-z0-9_-]");
      v.check(Number.isInteger(quantity) && quantity >= 1 && quantity <= MAX_QUANTITY, "quantity", `must be 1 to ${MAX_QUANTITY}`);
      v.throwIfAny();
      // Checked before the write, so an unknown product never lands in a cart.
      await deps.productExists(productId, signal);
      const res = await deps.store.add(userId, productId, quantity);
      if (res.ok) return res.items;
      if (res.reason === "item_limit") throw new PreconditionError(`the cart already holds ${MAX_ITEMS} distinct products`);
      throw new ValidationError([{
        field: "quantity",
        description: `the cart holds ${res.current} of this product; adding ${quantity} would pass ${MAX_QUANTITY}`,
      }]);
    },
    async removeItem(userId, productId) {
      const v = new Violations();
      v.check(PRODUCT_ID_RE.test(productId), "product_id", "must be 1 to 64 characters of [A-Za-z0-9_-]");
      v.throwIfAny();
      return deps.store.remove(userId, productId);
    },
    getCart: (userId) => deps.store.get(userId),
    emptyCart: (userId) => deps.store.empty(userId),
    async removeOrderedItems(userId, orderId, lines) {
      const v = new Violations();
      v.check(userId.length >= 1 && userId.length <= 128, "user_id", "must be 1 to 128 characters");
      v.check(ORDER_ID_RE.test(orderId), "order_id", "must be an order id (ord_...)");
      v.check(lines.length >= 1 && lines.length <= MAX_ITEMS, "lines", `must hold 1 to ${MAX_ITEMS} lines`);
      lines.slice(0, MAX_ITEMS).forEach((l, i) => {
        v.check(PRODUCT_ID_RE.test(l.productId), `lines[${i}].product_id`, "must be 1 to 64 characters of [A-Za-z0-9_-]");
        v.check(Number.isInteger(l.quantity) && l.quantity >= 1 && l.quantity <= MAX_QUANTITY, `lines[${i}].quantity`, `must be 1 to ${MAX_QUANTITY}`);
      });
      v.throwIfAny();
      await deps.store.removeOrdered(userId, orderId, lines);
    },
  };
}
