// ChargeStore on MongoDB (FerretDB 1.24 locally). Three collections of facts, each keyed by the
// charge id under `_id`: `charges` (attempts), `outcomes`, `refunds`. A write is an insert that
// either lands or finds the fact that stands (E11000); so the hot path of a new charge is inserts
// only, and reads happen only on a conflict or for GetCharge/Refund (docs/architecture.md).
import { randomBytes } from "node:crypto";
import type { Collection } from "mongodb";
import { connectMongo, type FactDoc, firstWriterWins, insertFact, insertOnce } from "@shopmesh/mesh";
import { type ChargeAttempt, type ChargeOutcome, type ChargeRefund, type ChargeStore, mergeCharge } from "./charge-store.js";

/** Options of the Mongo charge store. */
export interface MongoChargeStoreOptions {
  /** mongodb://host:port/ */
  url: string;
  /** Database name, e.g. shop_payment. */
  db: string;
  /** Per-operation server time limit and connection timeouts, ms. */
  opTimeoutMs?: number;
}

/** Connects and returns a ChargeStore; call init() once before use. */
export async function createMongoChargeStore(opts: MongoChargeStoreOptions): Promise<ChargeStore> {
  const maxTimeMS = opts.opTimeoutMs ?? 3000;
  const client = await connectMongo(opts.url, { opTimeoutMs: maxTimeMS });
  const db = client.db(opts.db);
  const attempts: Collection<FactDoc<Omit<ChargeAttempt, "id">>> = db.collection("charges");
  const outcomes: Collection<FactDoc<ChargeOutcome>> = db.collection("outcomes");
  const refunds: Collection<FactDoc<ChargeRefund>> = db.collection("refunds");
  const secrets: Collection<{ _id: string; value: string }> = db.collection("secrets");

  return {
    async init() {
      // Nothing to create: every fact is looked up by `_id`, which is always unique.
    },
    async insertAttempt(a) {
      const { id, ...rest } = a;
      return insertOnce(() => attempts.insertOne({ _id: id, ...rest }));
    },
    insertOutcome: (id, o) => insertFact(outcomes, id, o, maxTimeMS),
    insertRefund: (id, r) => insertFact(refunds, id, r, maxTimeMS),
    async find(id) {
      const a = await attempts.findOne({ _id: id }, { maxTimeMS });
      if (!a) return null;
      const [o, r] = await Promise.all([outcomes.findOne({ _id: id }, { maxTimeMS }), refunds.findOne({ _id: id }, { maxTimeMS })]);
      const { _id, ...attempt } = a;
      return mergeCharge({ id: _id, ...attempt, amountMinor: Number(attempt.amountMinor) }, o, r);
    },
    async ensureSecret(name) {
      // The first insert stands; a loser reads the winner's value.
      const fresh = randomBytes(32).toString("base64url");
      return firstWriterWins(fresh, () => secrets.insertOne({ _id: name, value: fresh }),
        async () => (await secrets.findOne({ _id: name }, { maxTimeMS }))?.value);
    },
    async close() {
      await client.close();
    },
  };
}
