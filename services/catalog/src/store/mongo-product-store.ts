// ProductStore on MongoDB (FerretDB locally). Queries are built only from validated scalars, and
// every operator is explicit ($eq, $gt, ...), so a string like '{"$ne": null}' is matched literally.
import { MongoClient } from "mongodb";
import type { ListQuery, ProductRecord, ProductStore } from "./product-store.js";

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
  /** Server-side time limit per query. */
  maxTimeMs?: number;
}

/** Escapes every regex metacharacter, so user text is matched as itself. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
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

/** Connects, ensures indexes, and returns the store. */
export async function createMongoProductStore(opts: MongoProductStoreOptions): Promise<ProductStore> {
  const client = new MongoClient(opts.url, { serverSelectionTimeoutMS: 3_000, connectTimeoutMS: 3_000 });
  await client.connect();
  const products = client.db(opts.db).collection<ProductDoc>("products");
  // Category and price filters walk the id order; these keep the filtered scans short.
  await products.createIndex({ categories: 1, _id: 1 }, { name: "category_id" });
  await products.createIndex({ "price.currencyCode": 1, "price.amountMinor": 1 }, { name: "price" });
  const maxTimeMS = opts.maxTimeMs ?? 3_000;

  return {
    async get(id) {
      const d = await products.findOne({ _id: { $eq: id } }, { maxTimeMS });
      return d ? toRecord(d) : undefined;
    },
    async getMany(ids) {
      const docs = await products.find({ _id: { $in: ids } }, { maxTimeMS }).toArray();
      return docs.map(toRecord);
    },
    async list(q: ListQuery) {
      const filter: Record<string, unknown> = {};
      if (q.afterId !== undefined) filter._id = { $gt: q.afterId };
      // A scalar against an array field matches any element: the FerretDB-safe form of "contains".
      if (q.category !== undefined) filter.categories = { $eq: q.category };
      if (q.price) {
        filter["price.currencyCode"] = { $eq: q.price.currencyCode };
        const range: Record<string, number> = {};
        if (q.price.min !== undefined) range.$gte = q.price.min;
        if (q.price.max !== undefined) range.$lte = q.price.max;
        if (Object.keys(range).length > 0) filter["price.amountMinor"] = range;
      }
      const docs = await products.find(filter, { maxTimeMS }).sort({ _id: 1 }).limit(q.limit).toArray();
      return docs.map(toRecord);
    },
    async search(text, limit) {
      const pattern = escapeRegex(text);
      const docs = await products.find({ $or: [
        { name: { $regex: pattern, $options: "i" } },
        { description: { $regex: pattern, $options: "i" } },
      ] }, { maxTimeMS }).sort({ _id: 1 }).limit(limit).toArray();
      return docs.map(toRecord);
    },
    async upsert(p) {
      const { _id, ...rest } = toDoc(p);
      // A plain equality filter (id is a validated string): the upsert takes its _id from it.
      await onceInserted(() => products.replaceOne({ _id }, rest, { upsert: true }));
    },
    async seed(list) {
      if (list.length === 0) return 0;
      // $setOnInsert never touches an existing product, so seeding again keeps admin edits.
      const ops = list.map((p) => {
        const { _id, ...rest } = toDoc(p);
        return { updateOne: { filter: { _id }, update: { $setOnInsert: rest }, upsert: true } };
      });
      return (await onceInserted(() => products.bulkWrite(ops, { ordered: false }))).upsertedCount;
    },
    async count() {
      return products.countDocuments({}, { maxTimeMS });
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
      const e = err as { code?: number; writeErrors?: { code?: number }[] | { code?: number } };
      const codes = e.writeErrors === undefined ? [e.code] : (Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors]).map((w) => w.code);
      if (round >= rounds || codes.length === 0 || codes.some((c) => c !== 11000)) throw err;
    }
  }
}
