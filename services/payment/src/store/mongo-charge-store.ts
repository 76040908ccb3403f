// ChargeStore on MongoDB (FerretDB 1.24 locally): a unique index on `key` makes concurrent
// inserts of the same key race to exactly one winner (E11000 for the rest).
import { randomBytes } from "node:crypto";
import { type Collection, type Document, MongoClient, MongoServerError } from "mongodb";
import type { ChargeRecord, ChargeStore } from "./charge-store.js";

/** Options of the Mongo charge store. */
export interface MongoChargeStoreOptions {
  /** mongodb://host:port/ */
  url: string;
  /** Database name, e.g. shop_payment. */
  db: string;
  /** Per-operation server time limit and connection timeouts, ms. */
  opTimeoutMs?: number;
}

interface ChargeDoc extends Omit<ChargeRecord, "id"> {
  _id: string;
}

interface SecretDoc {
  _id: string;
  value: string;
}

/** Connects and returns a ChargeStore; call init() once before use. */
export async function createMongoChargeStore(opts: MongoChargeStoreOptions): Promise<ChargeStore> {
  const maxTimeMS = opts.opTimeoutMs ?? 3000;
  const client = new MongoClient(opts.url, {
    serverSelectionTimeoutMS: maxTimeMS,
    connectTimeoutMS: maxTimeMS,
    socketTimeoutMS: maxTimeMS * 3,
    maxPoolSize: 20,
  });
  await client.connect();
  const db = client.db(opts.db);
  const charges: Collection<ChargeDoc> = db.collection<ChargeDoc>("charges");
  const secrets: Collection<SecretDoc> = db.collection<SecretDoc>("secrets");
  const claims: Collection<{ _id: string; at: Date }> = db.collection("lease_claims");

  // An insert under a unique key happens once, on MongoDB and FerretDB alike (a conditional
  // update does not: FerretDB 1.x runs it as read-then-write). False when the key was taken.
  async function insertedOnce(insert: () => Promise<unknown>): Promise<boolean> {
    try {
      await insert();
      return true;
    } catch (err) {
      if (err instanceof MongoServerError && err.code === 11000) return false;
      throw err;
    }
  }

  return {
    async init() {
      await charges.createIndex({ key: 1 }, { unique: true, name: "key_unique" });
    },
    async insertPending(rec) {
      return (await insertedOnce(() => charges.insertOne(toDoc(rec)))) ? "inserted" : "duplicate";
    },
    async findByKey(key) {
      return fromDoc(await charges.findOne({ key: { $eq: key } }, { maxTimeMS }));
    },
    async findById(id) {
      return fromDoc(await charges.findOne({ _id: id }, { maxTimeMS }));
    },
    async takeOver(id, expectedLease, newLease) {
      // Measured: FerretDB 1.24 runs a conditional updateOne as read-then-write, so two racing
      // updates both report modifiedCount 1. An insert under a unique _id is atomic, so the
      // claim on one observed lease is an insert; the update after it only records the lease.
      if (!(await insertedOnce(() => claims.insertOne({ _id: `${id}@${expectedLease.getTime()}`, at: new Date() })))) return false;
      const r = await charges.updateOne(
        { _id: { $eq: id }, status: "PENDING", leaseUntil: { $eq: expectedLease } },
        { $set: { leaseUntil: newLease } },
      );
      return r.modifiedCount === 1;
    },
    async finish(id, status, declineReason) {
      // A conditional update, not a claim: the status change and the guard are one write, so a
      // process killed half-way leaves the record PENDING for a takeover, never half-settled.
      // (FerretDB 1.x scans the collection for this filter shape: the price of that guarantee.)
      const set: Document = { status };
      if (declineReason) set.declineReason = declineReason;
      return fromDoc(await charges.findOneAndUpdate(
        { _id: { $eq: id }, status: "PENDING" },
        { $set: set },
        { returnDocument: "after", maxTimeMS },
      ));
    },
    async release(id) {
      await charges.deleteOne({ _id: { $eq: id }, status: "PENDING" });
    },
    async markRefunded(id, reason, at) {
      return fromDoc(await charges.findOneAndUpdate(
        { _id: { $eq: id }, status: "SUCCEEDED" },
        { $set: { status: "REFUNDED", refundedAt: at, refundReason: reason } },
        { returnDocument: "after", maxTimeMS },
      ));
    },
    async ensureSecret(name) {
      // Upsert with $setOnInsert: concurrent first starts agree on one value.
      // Racing upserts may lose with E11000 (MongoDB and FerretDB alike): then read the winner's.
      const fresh = randomBytes(32).toString("base64url");
      try {
        const doc = await secrets.findOneAndUpdate(
          { _id: { $eq: name } },
          { $setOnInsert: { value: fresh } },
          { upsert: true, returnDocument: "after", maxTimeMS },
        );
        if (doc) return doc.value;
      } catch (err) {
        if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
      }
      const doc = await secrets.findOne({ _id: { $eq: name } }, { maxTimeMS });
      if (!doc) throw new Error(`secret ${name} could not be stored`);
      return doc.value;
    },
    async close() {
      await client.close();
    },
  };
}

function toDoc(rec: ChargeRecord): ChargeDoc {
  const { id, ...rest } = rec;
  return { _id: id, ...rest };
}

function fromDoc(doc: ChargeDoc | null): ChargeRecord | null {
  if (!doc) return null;
  const { _id, ...rest } = doc;
  const rec: ChargeRecord = {
    id: _id,
    key: rest.key,
    amountMinor: Number(rest.amountMinor),
    currency: rest.currency,
    cardLast4: rest.cardLast4,
    cardHash: rest.cardHash,
    status: rest.status,
    createdAt: rest.createdAt,
    leaseUntil: rest.leaseUntil,
  };
  if (rest.declineReason) rec.declineReason = rest.declineReason;
  if (rest.refundedAt) rec.refundedAt = rest.refundedAt;
  if (rest.refundReason !== undefined) rec.refundReason = rest.refundReason;
  return rec;
}
