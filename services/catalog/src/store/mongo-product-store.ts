// ProductStore on MongoDB (FerretDB locally). It only writes, and reads every product at once for
// the view; filters are built only from validated scalars (an id), so user text never becomes an operator.
import { MongoBulkWriteError, MongoClient } from "mongodb";
import { traceMongo } from "@shopmesh/mesh";
import type { ProductRecord, ProductStore } from "./product-store.js";

interface ProductDoc {
  _id: string;
  name: string;
  description: string;
  pictureUrl: string;
  price: { currencyCode: string; amountMinor: number };
  categories: string[];
  stock: number;
  updateTime: Date;
}

/** Options of the Mongo product store. */
export interface MongoProductStoreOptions {
  /** mongodb:// URL. */
  url: string;
  /** Database name (catalog's own). */
  db: string;
  /** Bound on reading every product (all()), ms; default 60 s. */
  readAllTimeoutMs?: number;
}

function toRecord(d: ProductDoc): ProductRecord {
  return { id: d._id, name: d.name, description: d.description, pictureUrl: d.pictureUrl,
    price: { currencyCode: d.price.currencyCode, amountMinor: Number(d.price.amountMinor) },
    categories: [...d.categories], stock: Number(d.stock), updateTime: d.updateTime };
}

function toDoc(p: ProductRecord): ProductDoc {
  return { _id: p.id, name: p.name, description: p.description, pictureUrl: p.pictureUrl,
    price: { currencyCode: p.price.currencyCode, amountMinor: p.price.amountMinor },
    categories: p.categories, stock: p.stock, updateTime: p.updateTime };
}

/**
 * Creates the store. The client connects on first use, so a MongoDB that is down at start fails the
 * calls (the view's load retries), not the start.
 */
export function createMongoProductStore(opts: MongoProductStoreOptions): ProductStore {
  const client = new MongoClient(opts.url, { serverSelectionTimeoutMS: 3_000, connectTimeoutMS: 3_000 });
  const products = client.db(opts.db).collection<ProductDoc>("products");
  const timeoutMS = opts.readAllTimeoutMs ?? 60_000;
  // A span per command when tracing is on; it must be set before the first connect().
  const traced = traceMongo(client);
  // The driver closes its topology when the first connect fails, and every later call would fail
  // "Topology is closed"; connect() starts a new one then, and returns at once when connected.
  const connected = () => traced.then(() => client.connect());

  return {
    async all() {
      await connected();
      const out: ProductRecord[] = [];
      // Batches of 1,000 keep each decode short on the event loop; timeoutMS bounds the whole read.
      for await (const d of products.find({}, { batchSize: 1_000, timeoutMS })) out.push(toRecord(d));
      return out;
    },
    async upsert(p) {
      await connected();
      const { _id, ...rest } = toDoc(p);
      // A plain equality filter (id is a validated string): the upsert takes its _id from it.
      await onceInserted(() => products.replaceOne({ _id }, rest, { upsert: true }));
    },
    async seed(list) {
      if (list.length === 0) return 0;
      await connected();
      // Inserts only, so a product that exists (an admin's edit) is never touched: its insert fails
      // on the unique _id (E11000) and the others go on. Not an update with $setOnInsert: FerretDB
      // 1.24 holds a connection per matched statement of an update command until it returns, and
      // three replicas re-seeding at once took all 100 of its pool and hung the database
      // (docs/architecture.md, "The store").
      try {
        return (await products.insertMany(list.map(toDoc), { ordered: false })).insertedCount;
      } catch (err) {
        if (err instanceof MongoBulkWriteError && writeErrorCodes(err).every((c) => c === 11000)) return err.result.insertedCount;
        throw err;
      }
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * Runs an upsert again when it lost an insert race: two replicas (or two admins) upserting one
 * new _id both miss it and both insert, and the loser hits the unique _id (E11000). The document
 * exists then, so another round updates it instead; a few rounds settle any number of racers.
 */
async function onceInserted<T>(upsert: () => Promise<T>, rounds = 5): Promise<T> {
  for (let round = 1; ; round++) {
    try {
      return await upsert();
    } catch (err) {
      const codes = writeErrorCodes(err as WriteErrorLike);
      if (round >= rounds || codes.length === 0 || codes.some((c) => c !== 11000)) throw err;
    }
  }
}

type WriteErrorLike = { code?: number | string; writeErrors?: readonly { code?: number }[] | { code?: number } };

/** The codes of a write's errors: each write error's of a bulk write, or the error's own. */
function writeErrorCodes(e: WriteErrorLike): (number | string | undefined)[] {
  if (e.writeErrors === undefined) return [e.code];
  return (Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors]).map((w) => w.code);
}
