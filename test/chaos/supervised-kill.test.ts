// Scenario 9: every service process is SIGKILLed in turn while buyers check out, and nobody runs
// `make up`: the runner's supervisor (runner/src/supervise.ts) must bring each one back, SERVING
// within 10 s of the kill, and the money invariant must hold after it all (issue 14, item 12).
import { join } from "node:path";
import { grpcHealth, tlsNameOf } from "../../runner/src/health.js";
import { readState } from "../../runner/src/supervisor.js";
import { invariantSummary, recordScenario } from "./report.js";
import { createBuyer, invariantsSettled, productIds, settleBuyers, type Buyer } from "./shop.js";
import { createUnaryClient, newUser } from "./edge-client.js";
import { startLoad, summarize } from "./load.js";
import { meshPids, meshUp, rememberReplicas, repo, sleep, stopProcess, waitUntil } from "./mesh-control.js";

const BUYERS = 4;
/** The promise of the issue: SERVING again within 10 s of a SIGKILL. */
const BACK_WITHIN_MS = 10_000;
/** After the last one is back: callers' channels reconnect (grpc-js backs off up to a few s). */
const SETTLE_MS = 4_000;
const edge = createUnaryClient();
const certDir = join(repo, ".run", "certs");

afterAll(async () => {
  await meshUp();
  edge.close();
});

it("restarts every service killed with SIGKILL, SERVING within 10 s, without make up; the books hold", async () => {
  await rememberReplicas();
  const t0 = performance.now();
  const victims = readState().filter((p) => p.kind === "service").map((p) => p.name);
  expect(victims.length).toBeGreaterThanOrEqual(6);
  expect(readState().some((p) => p.kind === "supervisor")).toBe(true);
  const restartsBefore = new Map(readState().map((p) => [p.name, p.restarts ?? 0]));
  const [product] = await productIds(edge, 1);
  const buyers: Buyer[] = await Promise.all(Array.from({ length: BUYERS }, async () => createBuyer(edge, await newUser(edge), product!)));

  const load = startLoad(BUYERS, (w) => buyers[w]!.step(8_000));
  await sleep(2_000);
  const backMs: Record<string, number> = {};
  for (const name of victims) {
    const oldPid = await stopProcess(name, "SIGKILL", 15_000, { supervised: true });
    const killedAt = performance.now();
    await waitUntil(`${name} serving again`, async () => {
      const rec = readState().find((p) => p.name === name);
      return rec !== undefined && rec.pid !== oldPid && (await grpcHealth(rec.port, certDir, 500, tlsNameOf(rec))) === "SERVING";
    }, BACK_WITHIN_MS, 100);
    backMs[name] = Math.round(performance.now() - killedAt);
    await sleep(500);
  }
  const allBackAt = performance.now();
  await sleep(SETTLE_MS);
  const settledAt = performance.now();
  await sleep(3_000);
  const outcomes = await load.stop();
  await settleBuyers(buyers);
  const inv = await invariantsSettled(30_000);

  const after = readState();
  for (const name of victims) {
    expect(after.find((p) => p.name === name)?.restarts).toBe((restartsBefore.get(name) ?? 0) + 1);
  }
  expect([...(await meshPids()).keys()].sort()).toEqual(after.map((p) => p.name).sort());
  const faults = outcomes.filter((o) => o.at < allBackAt);
  const recovered = outcomes.filter((o) => o.at >= settledAt);
  expect(recovered.length).toBeGreaterThan(10);
  expect(summarize(recovered).errors).toEqual({});
  expect(inv.violations).toEqual([]);
  expect(inv.pendingOrders).toBe(0);

  const r = (x: number) => Math.round(x);
  recordScenario({
    id: "9-supervised-kill", title: "Every service SIGKILLed in turn, brought back by the supervisor alone",
    ranAt: new Date().toISOString(), durationS: r((performance.now() - t0) / 1000),
    done: [
      `${BUYERS} users place orders back to back through the edge.`,
      `Each service process (${victims.join(", ")}) in turn is SIGKILLed by its recorded pid; nobody runs \`make up\`.`,
      "The runner's supervisor restarts it (same command and environment); the scenario waits until its gRPC health check is SERVING, then kills the next.",
      `${SETTLE_MS / 1000} s after the last is back, 3 s more load must see no error; the buyers settle their requests in doubt; then the invariant.`,
    ],
    load: `${BUYERS} concurrent buyers, closed loop, PlaceOrder through the edge.`,
    phases: { faults: summarize(faults), recovery: summarize(recovered) },
    faults: victims.map((v) => `${v} SIGKILLed`),
    figures: {
      "SIGKILL → SERVING again ms, per process": Object.entries(backMs).map(([k, v]) => `${k} ${v}`).join(", "),
      "slowest SIGKILL → SERVING ms": Math.max(...Object.values(backMs)),
      "restarts recorded (make status), per killed process": victims.map((v) => `${v} ${(after.find((p) => p.name === v)?.restarts ?? 0) - (restartsBefore.get(v) ?? 0)}`).join(", "),
    },
    lost: "nothing: every request in doubt was settled by its buyer, no order is pending, and the books balance.",
    invariants: invariantSummary(inv),
  });
}, 240_000);
