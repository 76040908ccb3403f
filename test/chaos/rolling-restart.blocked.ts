// Scenario 5: a rolling restart of catalog's two replicas under browsing load through the edge.
// Each replica is stopped with SIGTERM (graceful drain), brought back by the runner's `up`, and
// only then is the next one stopped. Users must see zero failed calls.
//
// BLOCKED, so not named *.test.ts (jest does not run it): against today's edge it fails with a
// few UNAVAILABLE "Received HTTP status code 502" per restart. nginx logs "upstream sent goaway
// with error 0 while reading response header": grpc-js's tryShutdown sends one GOAWAY, requests
// nginx already put on its keepalive connection are refused, and nginx's grpc proxy (which never
// buffers request bodies) cannot resend a request whose body it sent, whatever grpc_next_upstream
// says (adding invalid_header was tried). Measured fix: take the replica out of the edge's
// upstream and reload nginx before SIGTERM (what Kubernetes does by removing the endpoint), then
// this scenario passes with zero failures. Rename to .test.ts once the runner does that.
import { invariantSummary, recordScenario } from "./report.js";
import { catalogRead, invariantsSettled, productIds } from "./shop.js";
import { createUnaryClient } from "./edge-client.js";
import { startLoad, summarize } from "./load.js";
import { meshPids, meshUp, rememberReplicas, sleep, stopProcess } from "./mesh-control.js";

const WORKERS = 6;
const edge = createUnaryClient();

afterAll(async () => {
  await meshUp();
  edge.close();
});

it("restarts both catalog replicas one after the other with zero failed reads", async () => {
  const replicas = await rememberReplicas();
  expect(replicas.REPLICAS_catalog).toBe("2"); // run the mesh with REPLICAS_catalog=2 make up
  const t0 = performance.now();
  const ids = await productIds(edge, 20);
  const load = startLoad(WORKERS, (w, i) => catalogRead(edge, ids, w, i));
  await sleep(2_000);
  const marks: Record<string, number> = { start: t0 };
  const drainMs: Record<string, number> = {};
  const upMs: Record<string, number> = {};
  for (const name of ["catalog", "catalog-2"]) {
    const stopAt = performance.now();
    marks[`${name} stopped`] = stopAt;
    await stopProcess(name, "SIGTERM");
    drainMs[name] = performance.now() - stopAt;
    const upAt = performance.now();
    await meshUp();
    upMs[name] = performance.now() - upAt;
    await sleep(1_500); // the new replica takes traffic before the next one goes
  }
  await sleep(1_000);
  const outcomes = await load.stop();
  const pids = await meshPids();
  const inv = await invariantsSettled();

  const all = summarize(outcomes);
  const c1 = marks["catalog stopped"]!;
  const c2 = marks["catalog-2 stopped"]!;
  const phases = {
    "both replicas up": summarize(outcomes.filter((o) => o.at < c1)),
    "catalog restarting": summarize(outcomes.filter((o) => o.at >= c1 && o.at < c2)),
    "catalog-2 restarting": summarize(outcomes.filter((o) => o.at >= c2)),
  };
  const failures = outcomes.filter((o) => o.code !== 0).map((o) => `${o.codeName}: ${o.message}`);
  expect(failures).toEqual([]);
  expect(all.calls).toBeGreaterThan(200);
  expect(pids.has("catalog") && pids.has("catalog-2")).toBe(true);
  expect(inv.violations).toEqual([]);

  const r = (x: number) => Math.round(x);
  recordScenario({
    id: "5-rolling-restart-catalog", title: "Rolling restart of catalog (two replicas) under load",
    ranAt: new Date().toISOString(), durationS: r((performance.now() - t0) / 1000),
    done: [
      `${WORKERS} clients browse through the edge back to back: v2 GetProduct, v2 ListProducts, v1 GetProduct in turn (5 s deadline).`,
      "After 2 s, catalog gets SIGTERM (graceful drain); once it has exited, `cli.js up` starts it again and waits until it serves; 1.5 s later the same for catalog-2.",
      "The load runs 1 s more; every failed call is a failure of the scenario.",
    ],
    load: `${WORKERS} concurrent browsing clients, closed loop, ${all.calls} calls in total.`,
    phases,
    faults: ["catalog SIGTERM → exit → restart", "catalog-2 SIGTERM → exit → restart"],
    figures: {
      "failed calls": failures.length,
      "catalog SIGTERM → exited ms": r(drainMs.catalog!),
      "catalog-2 SIGTERM → exited ms": r(drainMs["catalog-2"]!),
      "catalog restart (cli up) ms": r(upMs.catalog!),
      "catalog-2 restart (cli up) ms": r(upMs["catalog-2"]!),
    },
    lost: "nothing: zero failed calls through the whole restart.",
    invariants: invariantSummary(inv),
  });
}, 120_000);
