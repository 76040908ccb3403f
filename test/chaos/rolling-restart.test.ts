// Scenario 5: a rolling restart of catalog's two replicas under browsing load through the edge.
// `cli.js restart catalog` takes one replica out of the edge (nginx reload without it, as
// Kubernetes removes an endpoint before SIGTERM), drains it (SIGTERM), starts it again, waits
// until it serves, puts it back, and only then does the same for the next one. Users must see
// zero failed calls.
//
// Without the edge step it failed: grpc-js's tryShutdown sends one GOAWAY, requests nginx had
// already put on its keepalive connection are refused, and nginx's grpc proxy (which never
// buffers request bodies) cannot resend them, whatever grpc_next_upstream says.
import { invariantSummary, recordScenario } from "./report.js";
import { catalogRead, invariantsSettled, productIds } from "./shop.js";
import { createUnaryClient } from "./edge-client.js";
import { startLoad, summarize } from "./load.js";
import { meshPids, meshRestart, meshUp, rememberReplicas, sleep } from "./mesh-control.js";

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
  const restartAt = performance.now();
  marks["restart started"] = restartAt;
  const log = await meshRestart("catalog");
  const restartMs = performance.now() - restartAt;
  // The cli prints one line per replica when it serves again; mark when catalog-2's turn began.
  expect(log).toContain("restart: catalog is serving again");
  expect(log).toContain("restart: catalog-2 is serving again");
  await sleep(1_000);
  const outcomes = await load.stop();
  const pids = await meshPids();
  const inv = await invariantsSettled();

  const all = summarize(outcomes);
  const end = restartAt + restartMs;
  const phases = {
    "before the restart": summarize(outcomes.filter((o) => o.at < restartAt)),
    "rolling restart": summarize(outcomes.filter((o) => o.at >= restartAt && o.at < end)),
    "after the restart": summarize(outcomes.filter((o) => o.at >= end)),
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
      "After 2 s, `cli.js restart catalog`: for each replica in turn, nginx is reloaded without it, it gets SIGTERM (graceful drain) and exits, starts again, serves, and nginx is reloaded with it.",
      "The load runs 1 s more; every failed call is a failure of the scenario.",
    ],
    load: `${WORKERS} concurrent browsing clients, closed loop, ${all.calls} calls in total.`,
    phases,
    faults: ["catalog: out of the edge → SIGTERM → exit → restart → back in the edge", "catalog-2: the same, after catalog serves again"],
    figures: {
      "failed calls": failures.length,
      "rolling restart of both replicas ms": r(restartMs),
    },
    lost: "nothing: zero failed calls through the whole restart.",
    invariants: invariantSummary(inv),
  });
}, 120_000);
