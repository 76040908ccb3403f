// The cart store: one Redis hash per user, productId → quantity.

/** One line of a cart. */
export interface CartLine {
  productId: string;
  quantity: number;
}

/** The outcome of an add: the cart after it, or why it was refused (nothing changed then). */
export type AddResult =
  | { ok: true; items: CartLine[] }
  | { ok: false; reason: "quantity_limit"; current: number }
  | { ok: false; reason: "item_limit" };

/** Cart persistence; returns plain objects, items sorted by productId. */
export interface CartStore {
  /** Atomically adds quantity; refuses a total above maxQuantity or a new line beyond maxItems. */
  add(userId: string, productId: string, quantity: number): Promise<AddResult>;
  remove(userId: string, productId: string): Promise<CartLine[]>;
  get(userId: string): Promise<CartLine[]>;
  empty(userId: string): Promise<void>;
  /** Subtracts an order's lines from the cart (a line at zero goes), at most once per orderId; false when already done. */
  removeOrdered(userId: string, orderId: string, lines: CartLine[]): Promise<boolean>;
  close(): Promise<void>;
}
