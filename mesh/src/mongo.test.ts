import { randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { type Collection, type MongoClient, MongoNetworkTimeoutError, MongoOperationTimeoutError, MongoServerError, MongoServerSelectionError } from "mongodb";
import { toConnectError } from "./errors.js";
import { connectMongo, type FactDoc, insertFact, readFact } from "./mongo.js";

type Outcome = { status: string };
let client: MongoClient;
let facts: Collection<FactDoc<Outcome>>;
const db = `test_mesh_mongo_${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  client = await connectMongo(process.env.SHOP_TEST_MONGO_URL!);
  facts = client.db(db).collection("facts");
});
afterAll(async () => {
  await client.db(db).dropDatabase();
  await client.close();
});

test("the first fact under an id stands, and every writer gets it, without its _id", async () => {
  const first = { status: "CONFIRMED" };
  expect(await insertFact(facts, "o1", first, 3000)).toBe(first);
  expect(await insertFact(facts, "o1", { status: "FAILED" }, 3000)).toEqual(first);
  expect(await readFact(facts, "o1", 3000)).toEqual(first);
  expect(await readFact(facts, "none", 3000)).toBeNull();
});

describe("driver errors become gRPC codes by class and server code, never by message", () => {
  test("a query past its maxTimeMS on FerretDB is DeadlineExceeded, not Internal", async () => {
    // FerretDB filters in Go anything but a bare {_id}, so a regex over a few thousand documents
    // cannot finish within 1 ms: FerretDB stops it and answers MaxTimeMSExpired (code 50).
    const slow = client.db(db).collection<{ _id: string; s: string }>("slow");
    const docs = Array.from({ length: 5000 }, (_, i) => ({ _id: `d${i}`, s: "x".repeat(100) }));
    for (let i = 0; i < docs.length; i += 1000) await slow.insertMany(docs.slice(i, i + 1000));
    const err = await slow.find({ s: { $regex: "y" } }, { maxTimeMS: 1 }).toArray().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 50, codeName: "MaxTimeMSExpired" });
    const ce = toConnectError(err);
    expect([Code[ce.code], ce.rawMessage]).toEqual(["DeadlineExceeded", "database deadline exceeded"]);
  });

  test("server codes FerretDB does not send, on the driver's own error classes", () => {
    const server = (code: number, codeName: string, errmsg: string) => new MongoServerError({ ok: 0, code, codeName, errmsg });
    const codeOf = (err: unknown) => Code[toConnectError(err).code];
    expect(codeOf(server(262, "ExceededTimeLimit", "operation exceeded time limit"))).toBe("DeadlineExceeded");
    expect(codeOf(new MongoOperationTimeoutError("Timed out during operation execution"))).toBe("DeadlineExceeded");
    for (const [code, name] of [[91, "ShutdownInProgress"], [11600, "InterruptedAtShutdown"], [10107, "NotWritablePrimary"], [189, "PrimarySteppedDown"]] as const) {
      expect(`${name}: ${codeOf(server(code, name, "the server is going away"))}`).toBe(`${name}: Unavailable`);
    }
    expect(codeOf(new MongoNetworkTimeoutError("connection 3 to 127.0.0.1:27017 timed out"))).toBe("Unavailable");
    // The message is never read: a bad query that talks of timeouts and connections is still ours.
    expect(codeOf(server(2, "BadValue", "operation exceeded time limit: connection refused"))).toBe("Internal");
  });

  test("no server to select is Unavailable", async () => {
    const dead = await connectMongo("mongodb://127.0.0.1:1/", { opTimeoutMs: 200 }).then(() => undefined, (e: unknown) => e);
    expect(dead).toBeInstanceOf(MongoServerSelectionError);
    expect(Code[toConnectError(dead).code]).toBe("Unavailable");
  });
});
