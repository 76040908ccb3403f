// make bench's macro rounds: GetProduct direct to catalog (mTLS, edge identity) vs through the edge
// (edge_ratio), the edge vs a bare grpc-js echo of the same response bytes (service_vs_echo_ratio),
// ListProducts through the edge, PlaceOrder at 50 users through the edge, SearchProducts at the
// shop's size and at 100,000 products (search-bench.ts), and RSS/CPU per mesh process. Interleaved rounds,
// medians. Writes bench/results/macro.json and bench/RESULTS.md; never fails on a figure.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, release } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { CatalogService, GetProductResponseSchema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { loadTopology } from "@shopmesh/mesh";
import { startEchoServer } from "../echo-server.js";
import { createEdgeClient } from "../edge-client.js";
import { startGoEcho } from "../go-echo.js";
import { knob, meshCli, root, round2 } from "./bench-run.js";
import { runGhz, type GhzRunOptions } from "../ghz.js";
import { formatJourney, runJourney } from "../journey.js";
import { median } from "../latency.js";
import { listProductIds } from "../shop-setup.js";
import { ensureUsers } from "../users.js";
import { summarizeReport } from "../summary.js";
import { measureCpu, meshProcesses, sampleRssPeaks, totalMiB, treeRssMiB, youngestAgeSeconds } from "./proc.js";
import { measureReads } from "./reads.js";
import { SEARCH_QUERIES, searchBench } from "./search-bench.js";
import { seedOrders } from "./seed-orders.js";
import { renderResults, type Figure } from "./results-md.js";

// The rounds run on a store of their own, empty at the start (.run/bench/data): the first
// checkout rounds are an empty shop's, "at 50k" holds what the bench seeded and placed, and RSS
// at rest is a fresh mesh's, the same run after run. The local mesh then comes back on .data/.
// BENCH_FRESH_STORE=0 measures the mesh running now, on its own data, instead.
async function main(): Promise<void> {
  if (process.env.BENCH_FRESH_STORE === "0") return bench();
  const store = join(root, ".run/bench/data");
  console.log(`bench: restarting the local mesh on an empty store in ${store}`);
  meshCli(["down"]);
  rmSync(store, { recursive: true, force: true });
  try {
    meshCli(["up"], { MESH: "local", SHOP_DATA_DIR: store });
    await bench();
  } finally {
    meshCli(["down"]);
    meshCli(["up"], { MESH: "local" });
    console.log("bench: the local mesh runs again on .data/");
  }
}

async function bench(): Promise<void> {
  const rounds = Math.max(5, knob("BENCH_ROUNDS", 5));
  const seconds = knob("BENCH_SECONDS", 3);
  const orderSeconds = knob("BENCH_ORDER_SECONDS", 5);
  const concurrency = knob("BENCH_CONCURRENCY", 20);
  const orderUsers = knob("BENCH_ORDER_USERS", 50);
  const warmupSeconds = knob("BENCH_WARMUP_SECONDS", 20);
  const edge = "127.0.0.1:8080";
  const topology = loadTopology(join(root, "mesh/topology.json"));
  const storedOrders = knob("BENCH_STORED_ORDERS", 50_000);
  const storedUsers = knob("BENCH_STORED_USERS", 10_000);
  const rounds50k = knob("BENCH_ROUNDS_AT_50K", 3);
  const catalogAddr = `127.0.0.1:${topology.services.catalog.port}`;
  const certs = join(root, ".run/certs");
  const outDir = join(root, ".run/loadtest/bench");
  mkdirSync(outDir, { recursive: true });

  const procs = meshProcesses(root);
  if (procs.length === 0) throw new Error("the mesh is not running: run make up first");
  const searchProducts = knob("BENCH_SEARCH_PRODUCTS", 100_000);
  // At rest means settled: V8 gives back the heap its start-up grew after about a minute of quiet
  // (a fresh catalog: 109 MiB at 15 s, 84 MiB at 60 s), so a mesh just started waits first.
  const settleSeconds = knob("BENCH_REST_SETTLE_SECONDS", 90);
  const age = youngestAgeSeconds(procs);
  if (age < settleSeconds) {
    console.log(`bench: the mesh started ${Math.round(age)} s ago; waiting ${Math.ceil(settleSeconds - age)} s for it to settle before reading RSS at rest`);
    await new Promise((r) => setTimeout(r, (settleSeconds - age) * 1000));
  }
  const rest: Record<string, number | undefined> = treeRssMiB(procs);

  // The payload: one real product as catalog serves it, so the echo answers the same bytes.
  const client = createEdgeClient({ address: edge });
  const productId = (await listProductIds(client))[0];
  if (!productId) throw new Error("the catalog has no products");
  const product = await client.call(CatalogService.method.getProduct, { id: productId });
  client.close();
  const payload = toBinary(GetProductResponseSchema, product);
  const echo = await startEchoServer({ path: "/shop.catalog.v2.CatalogService/GetProduct", response: payload });
  // The Go floor (bench/go-echo, grpc-go on gen/go): over mTLS with catalog's own certificate, as
  // catalog answers, and in plaintext, as the grpc-js echo answers.
  const goEchoBin = join(root, ".run/loadtest/bin/go-echo");
  const goTls = await startGoEcho(goEchoBin, payload, join(outDir, "go-echo-response.bin"),
    { ca: join(certs, "ca.pem"), cert: join(certs, "catalog.pem"), key: join(certs, "catalog-key.pem") });
  const goPlain = await startGoEcho(goEchoBin, payload, join(outDir, "go-echo-response.bin"));

  const base: Omit<GhzRunOptions, "target" | "name" | "jsonOut"> = {
    ghz: join(root, ".bin/ghz"),
    protoset: join(root, "gen/shop.binpb"),
    call: "shop.catalog.v2.CatalogService/GetProduct",
    data: JSON.stringify({ id: productId }),
    duration: `${seconds}s`,
    concurrency,
  };
  const targets = {
    direct: { target: catalogAddr, tls: { cacert: join(certs, "ca.pem"), cert: join(certs, "edge.pem"), key: join(certs, "edge-key.pem"), serverName: "catalog" } },
    edge: { target: edge },
    // ListProducts through the edge, a page of 20 as the browse journey asks.
    list: { target: edge, call: "shop.catalog.v2.CatalogService/ListProducts", data: JSON.stringify({ pageSize: 20 }) },
    echo: { target: `127.0.0.1:${echo.port}` },
    goTls: { target: `127.0.0.1:${goTls.port}`, tls: { cacert: join(certs, "ca.pem"), cert: join(certs, "edge.pem"), key: join(certs, "edge-key.pem"), serverName: "catalog" } },
    goPlain: { target: `127.0.0.1:${goPlain.port}` },
  } as const;
  const perRound: Record<string, number[]> = {
    "direct rps": [], "edge rps": [], "echo rps": [], "go echo mTLS rps": [], "go echo plaintext rps": [],
    edge_ratio: [], service_vs_echo_ratio: [], catalog_vs_go_echo_ratio: [], node_vs_go_echo_plaintext_ratio: [],
    "edge p99 ms": [], "list rps": [], "list p99 ms": [], "orders/s": [], "PlaceOrder p99 ms": [], "orders/s at 50k": [], "PlaceOrder p99 ms at 50k": [],
  };
  let ordersPlaced = 0;
  const errors: Record<string, number> = {};
  const loadPeaks: Record<string, number> = {};
  let loadPeakTotal = 0;
  const cpu: Record<string, number> = {};
  // The journey's users run in this process: its CPU during the checkout rounds is the load
  // generator's (with the RSS sampler's reads of /proc every 250 ms).
  let loadgenCpuSeconds = 0;
  const keepPeaks = (sample: ReturnType<typeof sampleRssPeaks>) => {
    for (const [k, v] of Object.entries(sample.stop())) loadPeaks[k] = Math.max(loadPeaks[k] ?? 0, v);
    loadPeakTotal = Math.max(loadPeakTotal, sample.total());
  };

  // Warm-up: connections, JIT and catalog's cache, so round 1 is not the odd one out. The load
  // users log in once here: logins (scrypt) are not checkout CPU.
  for (const [kind, t] of Object.entries(targets)) {
    await runGhz({ ...base, ...t, duration: "1s", name: `warm-${kind}`, jsonOut: join(outDir, `warm-${kind}.json`) });
  }
  const usersFile = join(root, ".run/loadtest/users.json");
  const setupClient = createEdgeClient({ address: edge });
  const loggedIn = await ensureUsers(setupClient, { count: orderUsers, file: usersFile });
  setupClient.close();
  const checkout = (durationMs: number) => runJourney({ edge, users: orderUsers, durationMs, thinkMs: 0, profile: "checkout", usersFile, loggedIn });
  // Checkout warms up for longer: throughput climbed round after round for about 20 s (JIT tiers,
  // V8's young generation growing, nginx's and the drivers' pools opening connections: measured
  // 57, 74, 94, 88, 111 orders/s over five rounds after a 3 s warm-up), so a short warm-up
  // measured the warm-up, not the mesh.
  await checkout(warmupSeconds * 1000);
  try {
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so none of the three always runs first (or right after checkout).
      const order = (["direct", "edge", "list", "echo", "goTls", "goPlain"] as const).map((_, i, a) => a[(i + r) % a.length]!);
      const rps: Record<string, number> = {};
      for (const kind of order) {
        const peaks = sampleRssPeaks(procs);
        const report = await runGhz({ ...base, ...targets[kind], name: `${kind}-r${r + 1}`, jsonOut: join(outDir, `${kind}-r${r + 1}.json`) });
        keepPeaks(peaks);
        const row = summarizeReport(kind, report, "");
        rps[kind] = row.rps;
        for (const [code, n] of Object.entries(row.errors)) errors[`GetProduct ${kind}:${code}`] = (errors[`GetProduct ${kind}:${code}`] ?? 0) + n;
        if (kind === "edge") perRound["edge p99 ms"]!.push(row.p99);
        if (kind === "list") perRound["list p99 ms"]!.push(row.p99);
      }
      perRound["direct rps"]!.push(rps.direct!);
      perRound["edge rps"]!.push(rps.edge!);
      perRound["echo rps"]!.push(rps.echo!);
      perRound["list rps"]!.push(rps.list!);
      perRound["go echo mTLS rps"]!.push(rps.goTls!);
      perRound["go echo plaintext rps"]!.push(rps.goPlain!);
      perRound.catalog_vs_go_echo_ratio!.push(round2(rps.direct! / rps.goTls!));
      perRound.node_vs_go_echo_plaintext_ratio!.push(round2(rps.echo! / rps.goPlain!));
      perRound.edge_ratio!.push(round2(rps.edge! / rps.direct!));
      perRound.service_vs_echo_ratio!.push(round2(rps.edge! / rps.echo!));

      const peaks = sampleRssPeaks(procs);
      const cpuUse = measureCpu(procs);
      const ownCpu = process.cpuUsage();
      const j = await checkout(orderSeconds * 1000);
      const own = process.cpuUsage(ownCpu);
      loadgenCpuSeconds += (own.user + own.system) / 1e6;
      keepPeaks(peaks);
      for (const [k, v] of Object.entries(cpuUse.stop())) cpu[k] = round2((cpu[k] ?? 0) + v);
      console.log(`round ${r + 1}/${rounds}: direct ${rps.direct} rps, edge ${rps.edge} rps, echo ${rps.echo} rps, ` +
        `go echo ${rps.goTls} rps (mTLS) / ${rps.goPlain} rps (plaintext), ListProducts ${rps.list} rps\n${formatJourney(j)}`);
      perRound["orders/s"]!.push(j.ordersPerSecond);
      ordersPlaced += j.orders;
      perRound["PlaceOrder p99 ms"]!.push(j.steps.checkout?.p99 ?? 0);
      for (const [k, n] of Object.entries(j.errors)) errors[`journey ${k}`] = (errors[`journey ${k}`] ?? 0) + n;
    }
  } finally {
    await echo.close();
    await goTls.close();
    await goPlain.close();
  }

  // The same checkout, and the reads, with the shop full: BENCH_STORED_ORDERS orders and
  // BENCH_STORED_USERS users stored (seeded directly, books balanced; see seed-orders.ts).
  const { ferretdb, redis } = topology.stores;
  const seed = await seedOrders({
    mongoUrl: `mongodb://${ferretdb.host}:${ferretdb.port}/`, redisUrl: `redis://${redis.host}:${redis.port}`,
    orders: storedOrders, users: storedUsers,
  });
  console.log(`stored: ${seed.ordersBefore + seed.ordersAdded} orders (${seed.ordersAdded} seeded in ${seed.seedSeconds} s, index rebuilt in ${seed.rebuildSeconds} s), ${seed.usersBefore + seed.usersAdded} users`);
  const fullPeaks = sampleRssPeaks(procs);
  for (let r = 0; r < rounds50k; r++) {
    const j = await checkout(orderSeconds * 1000);
    console.log(`round ${r + 1}/${rounds50k} at ${storedOrders} stored:\n${formatJourney(j)}`);
    perRound["orders/s at 50k"]!.push(j.ordersPerSecond);
    perRound["PlaceOrder p99 ms at 50k"]!.push(j.steps.checkout?.p99 ?? 0);
    for (const [k, n] of Object.entries(j.errors)) errors[`journey at 50k ${k}`] = (errors[`journey at 50k ${k}`] ?? 0) + n;
  }
  const readClient = createEdgeClient({ address: edge });
  const reads = await measureReads(readClient, { users: loggedIn, calls: 500, concurrency: 10, mongoUrl: `mongodb://${ferretdb.host}:${ferretdb.port}/` });
  readClient.close();
  for (const [k, n] of Object.entries(reads.errors)) errors[`reads at 50k ${k}`] = n;
  keepPeaks(fullPeaks);

  // A failure here still leaves every other figure written, with this row marked not measured.
  let search: Awaited<ReturnType<typeof searchBench>> | undefined;
  let searchFailure = "";
  try {
    search = await searchBench({
      root, mongoUrl: `mongodb://${ferretdb.host}:${ferretdb.port}/`, catalogAddr, tls: targets.direct.tls,
      products: searchProducts, seconds, concurrency, outDir,
    });
    console.log(`SearchProducts p99 ms at 62 products ${JSON.stringify(search.p99Ms.fixture)}, at ${searchProducts} ${JSON.stringify(search.p99Ms.big)} ` +
      `(seeded in ${search.seedSeconds} s, loaded in ${search.loadSeconds} s, that catalog ${search.bigCatalogRssMiB} MiB)`);
  } catch (err) {
    searchFailure = err instanceof Error ? err.message : String(err);
    console.error(`bench: SearchProducts at ${searchProducts} not measured: ${searchFailure}`);
    errors["SearchProducts bench"] = 1;
  }
  for (const [k, n] of Object.entries(search?.errors ?? {})) errors[`SearchProducts ${k}`] = n;

  const med = (k: string) => round2(median(perRound[k]!));
  const orderErrors = Object.entries(errors).filter(([k]) => k.startsWith("journey")).reduce((a, [, n]) => a + n, 0);
  const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
  const cpuMsPerOrder: Record<string, number> = Object.fromEntries(
    Object.entries(cpu).map(([k, v]) => [k, ordersPlaced ? round2((v * 1000) / ordersPlaced) : 0]),
  );
  const cpuPerOrder = ordersPlaced ? round2((cpuTotal * 1000) / ordersPlaced) : 0;
  const loadgenCpuMsPerOrder = ordersPlaced ? round2((loadgenCpuSeconds * 1000) / ordersPlaced) : 0;
  const restTotal = totalMiB(rest);
  const loginLookup = round2(reads.login.p50 - reads.scrypt.p50);
  const empty = med("orders/s");
  const full = med("orders/s at 50k");
  const figures: Figure[] = [
    { name: "edge_ratio", value: med("edge_ratio"), unit: "", target: "≥ 0.6", met: med("edge_ratio") >= 0.6 },
    { name: "service_vs_echo_ratio", value: med("service_vs_echo_ratio"), unit: "", target: "≥ 0.5", met: med("service_vs_echo_ratio") >= 0.5 },
    { name: "catalog_vs_go_echo_ratio", value: med("catalog_vs_go_echo_ratio"), unit: "", target: "≥ 0.5", met: med("catalog_vs_go_echo_ratio") >= 0.5 },
    { name: "node_vs_go_echo_plaintext_ratio", value: med("node_vs_go_echo_plaintext_ratio"), unit: "", target: "(what each runtime costs without TLS)", met: null },
    { name: "listproducts_edge_rps", value: med("list rps"), unit: "calls/s", target: "≥ 2500", met: med("list rps") >= 2500 },
    { name: "listproducts_edge_p99_ms", value: med("list p99 ms"), unit: "ms", target: "≤ 20", met: med("list p99 ms") <= 20 },
    { name: "rss_rest_mib", value: restTotal, unit: "MiB", target: "≤ 600", met: restTotal <= 600 },
    { name: "rss_peak_mib", value: loadPeakTotal, unit: "MiB", target: "≤ 850", met: loadPeakTotal <= 850 },
    search && Object.keys(search.errors).length === 0
      ? { name: "searchproducts_p99_ms_at_100k", value: search.worstP99Ms.big, unit: "ms",
        target: `≤ 2× the ${search.worstP99Ms.fixture} ms at 62 products`, met: search.worstP99Ms.big <= 2 * search.worstP99Ms.fixture }
      : { name: "searchproducts_p99_ms_at_100k", value: search?.worstP99Ms.big ?? 0, unit: "ms",
        target: search ? "calls failed (see errors)" : `not measured: ${searchFailure}`, met: false },
    { name: "placeorder_orders_per_s", value: empty, unit: "orders/s", target: "≥ 100 (goal 200)", met: empty >= 100 },
    { name: "placeorder_p99_ms", value: med("PlaceOrder p99 ms"), unit: "ms", target: "≤ 250 (goal 100)", met: med("PlaceOrder p99 ms") <= 250 },
    { name: "placeorder_errors", value: orderErrors, unit: "", target: "0", met: orderErrors === 0 },
    { name: "placeorder_orders_per_s_at_50k", value: full, unit: "orders/s", target: "within 15% of empty", met: full >= 0.85 * empty },
    { name: "placeorder_p99_ms_at_50k", value: med("PlaceOrder p99 ms at 50k"), unit: "ms", target: "≤ 250", met: med("PlaceOrder p99 ms at 50k") <= 250 },
    { name: "getorder_p99_ms_at_50k", value: round2(reads.getOrder.p99), unit: "ms", target: "≤ 20", met: reads.getOrder.p99 <= 20 },
    { name: "listorders_p99_ms_at_50k", value: round2(reads.listOrders.p99), unit: "ms", target: "≤ 30", met: reads.listOrders.p99 <= 30 },
    // What a login costs beyond its hash (reads.login and reads.scrypt in the JSON): the lookup
    // by email, which must not grow with the users, plus the edge hop, the limiter, the session
    // and the token. No successful login, no figure.
    { name: "login_lookup_ms_at_10k_users", value: loginLookup, unit: "ms", target: "≤ 5",
      met: reads.login.count > 0 && reads.scrypt.count > 0 && loginLookup <= 5 },
    { name: "cpu_ms_per_order", value: cpuPerOrder, unit: "ms", target: "≤ 10", met: cpuPerOrder <= 10 },
  ];
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
  const notes = [
    `GetProduct: ghz, ${concurrency} workers on one HTTP/2 connection, ${seconds} s per measure, the same cached product every call. direct = ghz → catalog over mTLS with the edge's certificate; edge = ghz → nginx (h2c) → catalog (mTLS); echo = ghz → a bare grpc-js server answering the same ${payload.length} response bytes.`,
    "edge_ratio = edge rps / direct rps and service_vs_echo_ratio = edge rps / echo rps, taken per round, then the median.",
    "go echo = ghz → bench/go-echo, a grpc-go server on gen/go answering the same response bytes: over mTLS with catalog's certificate (catalog_vs_go_echo_ratio = direct rps / go echo mTLS rps) and in plaintext (node_vs_go_echo_plaintext_ratio = grpc-js echo rps / go echo plaintext rps); grpc-go uses both cores, grpc-js one.",
    `PlaceOrder: after ${warmupSeconds} s of warm-up checkout, ${orderUsers} virtual users (loadtest/src/journey.ts, profile checkout, no think time) each add one item then place the order, for ${orderSeconds} s per round, through the edge. orders/s counts CONFIRMED orders only; p99 is PlaceOrder's alone.`,
    `Load generators (ghz, the journey's Node process) run on the same ${cpus().length} cores as the mesh, so every figure includes their cost; CPU per process below (${round2(cpuTotal)} s of mesh CPU in ${rounds * orderSeconds} s of PlaceOrder) shows where checkout time goes.`,
    `At 50k: ${seed.ordersBefore + seed.ordersAdded} orders and ${seed.usersBefore + seed.usersAdded} users stored (seeded ones inserted the way the services insert them, books balanced), then ${rounds50k} more checkout rounds; GetOrder and ListOrders (page 20) 500 calls each, 10 in flight, and Login once per load user, one at a time, through the edge; login_lookup_ms = Login's median − the median of as many scrypt hashes in the bench process with the parameters auth stored (so it holds the edge hop, the login limiter, the session write and the token as well as the two reads by _id).`,
    `cpu_ms_per_order = CPU seconds of each mesh process during the empty-store checkout rounds ÷ the ${ordersPlaced} orders confirmed in them; each order is one AddItem and one PlaceOrder; the load generator's own CPU is not counted in it: it was ${loadgenCpuMsPerOrder} ms per order more (loadgenCpuMsPerOrder).`,
    `RSS: each process the mesh starts with its children (nginx's workers), the supervisor included; at rest = before the first round, once every process has run for ${settleSeconds} s; peak = the highest sum of one sample, sampled every 250 ms during every GetProduct, ListProducts and checkout measure, the 50k rounds and reads included. rss_rest_mib and rss_peak_mib are those sums.`,
    `SearchProducts: ghz → catalog direct (mTLS), ${concurrency} workers, ${seconds} s per query, page 20, queries ${JSON.stringify(SEARCH_QUERIES)} (loadtest/src/macro/search-bench.ts); at 100k = a second catalog process on a database of ${searchProducts} copies of the fixtures, each with a serial; searchproducts_p99_ms_at_100k is the worst query's p99.`,
  ];
  const results = {
    date: new Date().toISOString(), machine, cores: cpus().length, commit, rounds,
    figures, perRound, rss: { rest, load: loadPeaks }, cpuSecondsDuringPlaceOrder: cpu, cpuMsPerOrder, loadgenCpuMsPerOrder, ordersPlaced,
    stored: seed, reads, search, rssTotal: { rest: restTotal, peak: loadPeakTotal }, errors,
  };
  mkdirSync(join(root, "bench/results"), { recursive: true });
  writeFileSync(join(root, "bench/results/macro.json"), JSON.stringify(results, null, 2) + "\n");
  const meshFile = join(root, "bench/results/mesh.json");
  const mesh: unknown = existsSync(meshFile) ? JSON.parse(readFileSync(meshFile, "utf8")) : undefined;
  const other = (file: string): unknown => (existsSync(join(root, "bench/results", file)) ? JSON.parse(readFileSync(join(root, "bench/results", file), "utf8")) : undefined);
  const [istio, tracing] = [other("istio.json"), other("tracing.json")];
  writeFileSync(
    join(root, "bench/RESULTS.md"),
    renderResults({
      date: results.date, machine, commit, rounds, figures, perRound, errors, notes, mesh, istio, tracing, cpu,
      rss: procs.map((p) => ({ name: p.name, rest: rest[p.name], load: loadPeaks[p.name] })),
    }),
  );
  console.log("\nfigure                    median     target");
  for (const f of figures) console.log(`${f.name.padEnd(25)} ${String(f.value).padStart(8)} ${f.unit.padEnd(8)} ${f.target}${f.met === false ? "  (missed)" : ""}`);
  console.log("\nbench/results/macro.json and bench/RESULTS.md written");
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
