// The order store: Mongo, with a unique index on (userId, requestId) as the truth for "one order
// per request_id".

/** Where an order stands. PENDING while its saga runs; CONFIRMED and FAILED are final. */
export type OrderState = "PENDING" | "CONFIRMED" | "FAILED";

/** How far a PENDING order's saga got, so a taker-over knows where to resume. */
export type OrderPhase = "reserved" | "charging";

/** One priced line of an order. */
export interface OrderLine {
  productId: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}

/** An order as stored. */
export interface OrderRecord {
  id: string;
  userId: string;
  requestId: string;
  items: OrderLine[];
  currency: string;
  totalMinor: number;
  status: OrderState;
  phase: OrderPhase;
  /** "productId:qty,..." of the cart at placement, to refuse a request_id reused for another cart. */
  cartSig: string;
  chargeId?: string;
  failureReason?: string;
  createdAt: Date;
  /** Until then the PENDING order belongs to the call that reserved it. */
  leaseUntil: Date;
}

/** A position in a user's newest-first order list. */
export interface ListCursor {
  createdAt: Date;
  id: string;
}

/** Order persistence; returns plain objects, never driver types. */
export interface OrderStore {
  /** Creates the indexes; idempotent. */
  init(): Promise<void>;
  /** Inserts a PENDING order; "duplicate" when (userId, requestId) is taken. */
  reserve(rec: OrderRecord): Promise<"inserted" | "duplicate">;
  /** The order with this id owned by this user, else null. */
  findOwned(userId: string, id: string): Promise<OrderRecord | null>;
  /** Sets fields of an order the caller owns (holds the lease of). */
  update(id: string, patch: Partial<Omit<OrderRecord, "id" | "userId" | "requestId">>): Promise<void>;
  /** Deletes a PENDING reservation, so the same request_id can be placed again. */
  release(id: string): Promise<void>;
  /** Claims an expired lease exactly once per observed lease value; true when won. */
  takeOver(id: string, expectedLease: Date, newLease: Date): Promise<boolean>;
  /** Up to `limit` of the user's orders, newest first, strictly after `after`. */
  list(userId: string, limit: number, after?: ListCursor): Promise<OrderRecord[]>;
  close(): Promise<void>;
}
