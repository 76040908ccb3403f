// Scenario 3: FerretDB (the MongoDB server) is SIGKILLed under load. Services whose answer needs
// the database must say UNAVAILABLE (not INTERNAL, not a hang to the deadline), none may crash,
// and all recover on their own once FerretDB is back.
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { invariantSummary, recordScenario } from "./report.js";
import { catalogRead, createBuyer, invariantsSettled, productIds } from "./shop.js";
import { createUnaryClient, newUser, type Outcome } from "./edge-client.js";
import { startLoad, summarize } from "./load.js";
import { meshPids, meshUp, rememberReplicas, sleep, stopProcess, waitUntil, restartedBetween } from "./mesh-control.js";

const edge = createUnaryClient();

afterAll(async () => {
  await meshUp();
  edge.close();
});

it("answers UNAVAILABLE while FerretDB is dead, crashes nothing, and recovers", async () => {
  await rememberReplicas();
  const t0 = performance.now();
  const ids = await productIds(edge, 20);
  const user = await newUser(edge);
  const buyer = createBuyer(edge, user, ids[0]!);
  expect((await buyer.step()).code).toBe(0);
  const before = await meshPids();

  // Two clients list their orders (order → Mongo), one reads the user (auth → Mongo), two browse.
  const rpcs: ((w: number, i: number) => Promise<Outcome>)[] = [
    () => edge.call(OrderService.method.listOrders, { pageSize: 10 }, { token: user.token, timeoutMs: 10_000 }),
    () => edge.call(OrderService.method.listOrders, { pageSize: 10 }, { token: user.token, timeoutMs: 10_000 }),
    () => edge.call(AuthService.method.getUser, { userId: user.id }, { token: user.token, timeoutMs: 10_000 }),
    (w, i) => catalogRead(edge, ids, w, i),
    (w, i) => catalogRead(edge, ids, w, i),
  ];
  const load = startLoad(rpcs.length, async (w, i) => {
    const o = await rpcs[w]!(w, i);
    // Pace the loops a little: a dead database answers fast and the point is the codes, not volume.
    if (o.code !== 0) await sleep(50);
    return { ...o, message: `${w < 2 ? "ListOrders" : w === 2 ? "GetUser" : "catalog"}|${o.message}` };
  });
  await sleep(2_000);
  const killAt = performance.now();
  await stopProcess("ferretdb", "SIGKILL");
  await sleep(6_000);
  const upAt = performance.now();
  await meshUp();
  const servingAt = performance.now();
  const recoverMs = await waitUntil("orders answer again", () =>
    load.outcomes.some((o) => o.at > servingAt && o.code === 0 && o.message.startsWith("ListOrders")), 30_000);
  await sleep(1_500);
  const outcomes = await load.stop();
  // A checkout after recovery: every store path works again.
  const again = await buyer.step();
  const after = await meshPids();
  const inv = await invariantsSettled();

  const rpcOf = (o: Outcome) => o.message.split("|")[0]!;
  const fault = outcomes.filter((o) => o.at >= killAt && o.at < servingAt);
  const faultErrors = fault.filter((o) => o.code !== 0);
  const byRpc = (name: string, list: Outcome[]) => summarize(list.filter((o) => rpcOf(o) === name));
  // Some reads need the database (GetUser; ListOrders when its Redis index cannot answer) and fail
  // fast; catalog reads come from each replica's in-memory view and must not fail at all.
  expect(faultErrors.length).toBeGreaterThanOrEqual(1);
  expect(byRpc("catalog", fault).errors).toEqual({});
  expect(byRpc("catalog", fault).calls).toBeGreaterThan(20);
  expect(new Set(faultErrors.map((o) => o.codeName))).toEqual(new Set(["UNAVAILABLE"]));
  // Not a hang: bounded by the services' 3 s server selection timeout, far below the 10 s deadline.
  expect(summarize(faultErrors).maxMs).toBeLessThan(5_000);
  expect(outcomes.filter((o) => o.at < killAt || o.at > servingAt + recoverMs + 500).filter((o) => o.code !== 0)).toEqual([]);
  expect(again.code).toBe(0);
  expect(restartedBetween(before, after)).toEqual(["ferretdb"]);
  expect(inv.violations).toEqual([]);

  const r = (x: number) => Math.round(x);
  recordScenario({
    id: "3-ferretdb-killed", title: "FerretDB killed",
    ranAt: new Date().toISOString(), durationS: r((performance.now() - t0) / 1000),
    done: [
      "A user places one order; then 5 clients call through the edge back to back: two ListOrders (order → Mongo), one GetUser (auth → Mongo), two browsing the catalog (Mongo behind a Redis cache). Deadline 10 s.",
      "After 2 s, FerretDB is SIGKILLed by its recorded pid; the load runs 6 s against it dead.",
      "FerretDB is restarted by `cli.js up`; the load runs until ListOrders answers again, then 1.5 s more.",
      "The user checks out once more; every service pid is compared with the one before the kill; then the invariant.",
    ],
    load: "5 concurrent clients, closed loop (50 ms pause after an error).",
    phases: {
      before: summarize(outcomes.filter((o) => o.at < killAt)),
      fault: summarize(fault),
      "ListOrders during the fault": byRpc("ListOrders", fault),
      "GetUser during the fault": byRpc("GetUser", fault),
      "catalog reads during the fault": byRpc("catalog", fault),
      after: summarize(outcomes.filter((o) => o.at >= servingAt)),
    },
    faults: ["FerretDB SIGKILLed mid-load (every service's MongoDB connection dropped)"],
    figures: {
      "error codes during the fault": Object.entries(summarize(faultErrors).errors).map(([k, v]) => `${v} ${k}`).join(", "),
      "UNAVAILABLE p99 / max ms": `${summarize(faultErrors).p99Ms} / ${summarize(faultErrors).maxMs}`,
      "FerretDB serving again → ListOrders answers ms": r(recoverMs),
      "FerretDB restart (cli up) ms": r(servingAt - upAt),
      "services crashed or restarted": 0,
    },
    lost: "nothing: the order placed before the kill is listed after it, a new checkout succeeds, and the invariant holds.",
    invariants: invariantSummary(inv),
  });
}, 90_000);
