// @shopmesh/books: test support that reads the shop's three books (order's facts, payment's facts,
// the processor's ledger) and checks them against each other. Never imported by a service.
export { checkInvariants } from "./invariants.js";
export type { InvariantReport, InvariantTarget } from "./invariants.js";
export { readCharges, readOrders } from "./books.js";
export type { BookCharge, BookOrder } from "./books.js";
