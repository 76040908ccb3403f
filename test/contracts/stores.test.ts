import { MongoClient, ObjectId } from "mongodb";
import { Redis } from "ioredis";

// The component-test stores are real servers: FerretDB speaks MongoDB wire, Redis speaks RESP.
describe("component-test stores", () => {
  it("FerretDB enforces a unique index", async () => {
    const client = new MongoClient(process.env.SHOP_TEST_MONGO_URL!, { serverSelectionTimeoutMS: 3000 });
    try {
      const col = client.db("storetest").collection("things");
      await col.createIndex({ key: 1 }, { unique: true });
      await col.insertOne({ key: "a" });
      await expect(col.insertOne({ key: "a" })).rejects.toMatchObject({ code: 11000 });
    } finally {
      await client.db("storetest").dropDatabase();
      await client.close();
    }
  });

  // tools/setup.sh builds FerretDB with its bare-_id filter spelled as its _id_ index is built, so
  // SQLite searches that index instead of scanning the table (docs/architecture.md, "The store").
  it("FerretDB reads, updates and deletes by a bare _id through its _id_ index", async () => {
    const client = new MongoClient(process.env.SHOP_TEST_MONGO_URL!, { serverSelectionTimeoutMS: 3000 });
    try {
      const col = client.db("storetest").collection<{ _id: string | ObjectId; n: number }>("byid");
      const oid = new ObjectId();
      await col.insertMany([{ _id: "a", n: 1 }, { _id: "b", n: 2 }, { _id: oid, n: 3 }]);
      for (const _id of ["b", oid]) {
        const plan = (await col.find({ _id }).explain()) as { queryPlanner?: { Plan?: string[] } };
        const steps = plan.queryPlanner?.Plan ?? [];
        expect(steps).toEqual([expect.stringMatching(/detail=SEARCH \S+ USING INDEX \S+__id_ \(<expr>=\?\)$/)]);
      }
      // The same filter answers exactly as before: strings and ObjectIds, found, updated, deleted.
      expect(await col.findOne({ _id: "b" })).toEqual({ _id: "b", n: 2 });
      expect(await col.findOne({ _id: oid })).toEqual({ _id: oid, n: 3 });
      expect(await col.findOne({ _id: "nope" })).toBeNull();
      expect((await col.updateOne({ _id: oid }, { $set: { n: 30 } })).modifiedCount).toBe(1);
      expect((await col.deleteOne({ _id: "a" })).deletedCount).toBe(1);
      expect(await col.find({}).sort({ n: 1 }).toArray()).toEqual([{ _id: "b", n: 2 }, { _id: oid, n: 30 }]);
    } finally {
      await client.db("storetest").dropDatabase();
      await client.close();
    }
  });

  it("Redis answers", async () => {
    const redis = new Redis(process.env.SHOP_TEST_REDIS_URL!);
    try {
      await redis.set("storetest:k", "v");
      expect(await redis.get("storetest:k")).toBe("v");
    } finally {
      await redis.del("storetest:k");
      redis.disconnect();
    }
  });
});
