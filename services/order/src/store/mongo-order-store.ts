// OrderStore on MongoDB (FerretDB 1.24 locally): `orders` holds reservations and `outcomes` the
// outcomes, both keyed by the order id under `_id`. A placement writes two inserts and reads
// nothing unless an insert conflicts. Reads by id use the bare `{_id}` filter, the only shape
// FerretDB 1.x pushes down to SQLite (docs/architecture.md "The store").
import type { Collection, Filter } from "mongodb";
import { connectMongo, type FactDoc, insertFact, insertOnce, readFact } from "@shopmesh/mesh";
import { mergeOrder, type OrderOutcome, type OrderRecord, type OrderStore, type Reservation } from "./order-store.js";

/** Options of the Mongo order store. */
export interface MongoOrderStoreOptions {
  url: string;
  db: string;
  /** Per-operation server time limit and connection timeouts, ms. */
  opTimeoutMs?: number;
}

type ReservationDoc = FactDoc<Omit<Reservation, "id">>;
type OutcomeDoc = FactDoc<OrderOutcome>;

/** Connects and returns an OrderStore; call init() once before use. */
export async function createMongoOrderStore(opts: MongoOrderStoreOptions): Promise<OrderStore> {
  const maxTimeMS = opts.opTimeoutMs ?? 3000;
  const client = await connectMongo(opts.url, { opTimeoutMs: maxTimeMS });
  const db = client.db(opts.db);
  const orders: Collection<ReservationDoc> = db.collection<ReservationDoc>("orders");
  const outcomes: Collection<OutcomeDoc> = db.collection<OutcomeDoc>("outcomes");

  const outcomeOf = (id: string) => readFact(outcomes, id, maxTimeMS);

  return {
    async init() {
      // Serves ListOrders on MongoDB when the Redis index is down (FerretDB filters in Go anyway).
      await orders.createIndex({ userId: 1, createdAt: -1, _id: -1 }, { name: "user_newest" });
    },
    async reserve(rec) {
      const { id, ...rest } = rec;
      return (await insertOnce(() => orders.insertOne({ _id: id, ...rest }))) ? "inserted" : "duplicate";
    },
    settle: (id, outcome) => insertFact(outcomes, id, outcome, maxTimeMS),
    async find(id) {
      const doc = await orders.findOne({ _id: id }, { maxTimeMS });
      return doc ? mergeOrder(fromDoc(doc), await outcomeOf(id)) : null;
    },
    async findOwned(userId, id) {
      // The owner is checked here, not in the filter: any extra field makes FerretDB scan.
      const doc = await orders.findOne({ _id: id }, { maxTimeMS });
      if (!doc || doc.userId !== userId) return null;
      return mergeOrder(fromDoc(doc), await outcomeOf(id));
    },
    async list(userId, limit, after) {
      const filter: Filter<ReservationDoc> = { userId: { $eq: userId } };
      if (after) {
        filter.$or = [
          { createdAt: { $lt: after.createdAt } },
          { createdAt: { $eq: after.createdAt }, _id: { $lt: after.id } },
        ];
      }
      const docs = await orders.find(filter, { maxTimeMS }).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
      return Promise.all(docs.map(async (d) => mergeOrder(fromDoc(d), await outcomeOf(d._id))));
    },
    async scanAll(each) {
      const done = new Map<string, OrderOutcome>();
      for await (const o of outcomes.find({})) {
        const { _id, ...rest } = o;
        done.set(_id, rest);
      }
      for await (const d of orders.find({})) await each(mergeOrder(fromDoc(d), done.get(d._id) ?? null));
    },
    async close() {
      await client.close();
    },
  };
}

function fromDoc(doc: ReservationDoc): Reservation {
  return {
    id: doc._id,
    userId: doc.userId,
    requestId: doc.requestId,
    items: (doc.items ?? []).map((l) => ({ productId: l.productId, name: l.name, quantity: Number(l.quantity), unitPriceMinor: Number(l.unitPriceMinor) })),
    currency: doc.currency,
    totalMinor: Number(doc.totalMinor),
    createdAt: doc.createdAt,
    leaseUntil: doc.leaseUntil,
  };
}
