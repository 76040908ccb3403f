import { MongoClient } from "mongodb";
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
