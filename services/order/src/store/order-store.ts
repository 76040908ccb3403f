// The order store: facts, each inserted once under the order id (docs/architecture.md "The
// store"). An order is its reservation (who ordered what, priced, under a unique id derived from
// (user, request_id)) and, once decided, its outcome. Reads merge them; nothing is updated.

/** Where an order stands. PENDING until its outcome is inserted; CONFIRMED and FAILED are final. */
export type OrderState = "PENDING" | "CONFIRMED" | "FAILED";

/** One priced line of an order. */
export interface OrderLine {
  productId: string;
  name: string;
  quantity: number;
  unitPriceMinor: number;
}

/** The reservation: inserted once, with its lines priced, before anything is charged. */
export interface Reservation {
  id: string;
  userId: string;
  requestId: string;
  items: OrderLine[];
  currency: string;
  totalMinor: number;
  createdAt: Date;
  /** Until then the order is being placed by the call that reserved it; after, anyone may settle it. */
  leaseUntil: Date;
}

/** How an order ended. A FAILED outcome with a chargeId owes that charge's refund. */
export interface OrderOutcome {
  status: "CONFIRMED" | "FAILED";
  chargeId?: string;
  failureReason?: string;
  at: Date;
}

/** An order as read: its facts merged. */
export interface OrderRecord extends Reservation {
  status: OrderState;
  chargeId?: string;
  failureReason?: string;
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
  /** Inserts the reservation; "duplicate" when the order id is taken. */
  reserve(rec: Reservation): Promise<"inserted" | "duplicate">;
  /** Inserts the outcome unless the order has one; returns the outcome that stands. */
  settle(id: string, outcome: OrderOutcome): Promise<OrderOutcome>;
  /** The order with this id, whoever owns it: for the sweeper, never for a caller's read. */
  find(id: string): Promise<OrderRecord | null>;
  /** The order with this id owned by this user, else null. */
  findOwned(userId: string, id: string): Promise<OrderRecord | null>;
  /** Up to `limit` of the user's orders, newest first, strictly after `after`. */
  list(userId: string, limit: number, after?: ListCursor): Promise<OrderRecord[]>;
  /** Every order, merged, in no particular order: for rebuilding derived data, never on a request. */
  scanAll(each: (o: OrderRecord) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/** Merges an order's facts into what a reader sees. */
export function mergeOrder(r: Reservation, o: OrderOutcome | null): OrderRecord {
  const rec: OrderRecord = { ...r, status: o ? o.status : "PENDING" };
  if (o?.chargeId) rec.chargeId = o.chargeId;
  if (o?.failureReason) rec.failureReason = o.failureReason;
  return rec;
}
