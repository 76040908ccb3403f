import { spawn } from "node:child_process";
import { cpuSeconds, measureCpu, rssMiB, sampleRssPeaks, totalMiB, treeRssMiB, withChildren, youngestAgeSeconds } from "./proc.js";
import { flatten, renderResults } from "./results-md.js";

describe("proc readings", () => {
  it("reads this process's RSS and CPU from /proc, and nothing for a pid that is gone", () => {
    const rss = rssMiB(process.pid)!;
    expect(rss).toBeGreaterThan(10);
    expect(rss).toBeLessThan(4096);
    // Burn a little CPU so the counter must move.
    const before = cpuSeconds(process.pid)!;
    const until = Date.now() + 60;
    while (Date.now() < until);
    expect(cpuSeconds(process.pid)!).toBeGreaterThanOrEqual(before);
    expect(rssMiB(2 ** 22 + 7)).toBeUndefined();
  });

  it("keeps the peak RSS per name, and the peak of the total", () => {
    const sample = sampleRssPeaks([{ name: "me", pid: process.pid }], 10);
    const peaks = sample.stop();
    expect(peaks.me).toBeGreaterThan(10);
    expect(sample.total()).toBe(peaks.me);
  });

  it("counts a busy child's CPU in its parent's row, as nginx's workers' in the edge's, unless it is recorded itself", async () => {
    // The child spins until it has used 600 ms of CPU (not of wall time: the cores may be busy), then idles until killed.
    const spin = "const c = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; }; while (c() < 600); setTimeout(() => {}, 30000)";
    const child = spawn(process.execPath, ["-e", spin], { stdio: "ignore" });
    try {
      await new Promise((r) => child.once("spawn", r));
      const tree = measureCpu([{ name: "me", pid: process.pid }]);
      const own = measureCpu([{ name: "me", pid: process.pid }, { name: "child", pid: child.pid! }]);
      // /proc counts in ticks of 10 ms, and 600 ms of getrusage may read as 0.59 s.
      for (let i = 0; i < 250 && (cpuSeconds(child.pid!) ?? 0) < 0.55; i++) await new Promise((r) => setTimeout(r, 20));
      const inTree = tree.stop();
      const apart = own.stop();
      expect(inTree.me).toBeGreaterThanOrEqual(0.4);
      expect(apart.child).toBeGreaterThanOrEqual(0.4);
      expect(apart.me).toBeLessThan(0.3);
    } finally {
      child.kill();
    }
  });

  it("counts a process's children in its tree, as nginx's workers count in the edge", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      await new Promise((r) => child.once("spawn", r));
      // Until Node has started in it (tens of MiB), so both readings see the same child.
      for (let i = 0; i < 100 && (rssMiB(child.pid!) ?? 0) < 20; i++) await new Promise((r) => setTimeout(r, 20));
      expect(withChildren(process.pid)).toContain(child.pid);
      expect(withChildren(child.pid!)).toEqual([child.pid]);
      // Unrecorded, the child counts in this process's tree; recorded, only in its own row.
      const alone = treeRssMiB([{ name: "me", pid: process.pid }]);
      const both = treeRssMiB([{ name: "me", pid: process.pid }, { name: "child", pid: child.pid! }]);
      expect(both.child).toBeGreaterThan(20);
      expect(alone.me! - both.me!).toBeGreaterThan(both.child! / 2);
      expect(totalMiB({ a: 1.25, b: 2, c: undefined })).toBe(3.3);
      // The child just started; this process has run for longer than the child.
      const age = youngestAgeSeconds([{ name: "me", pid: process.pid }, { name: "child", pid: child.pid! }]);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(5);
      expect(youngestAgeSeconds([{ name: "me", pid: process.pid }])).toBeGreaterThanOrEqual(age);
    } finally {
      child.kill();
    }
  });
});

describe("RESULTS.md", () => {
  it("shows every figure against its target, marks misses, and folds in mesh.json", () => {
    const md = renderResults({
      date: "2025-01-01T00:00:00Z", machine: "test cpu, 2 cores", commit: "abc123", rounds: 5,
      figures: [
        { name: "edge_ratio", value: 0.7, unit: "", target: "≥ 0.6", met: true },
        { name: "placeorder_orders_per_s", value: 120, unit: "orders/s", target: "≥ 200", met: false },
        { name: "node_vs_go_echo_plaintext_ratio", value: 0.5, unit: "", target: "(information)", met: null },
      ],
      perRound: { "edge rps": [1, 2, 3, 4, 5] },
      rss: [{ name: "catalog", rest: 80, load: 120 }],
      cpu: { order: 3.5, payment: 1 },
      errors: {},
      notes: ["a note"],
      mesh: { unary: { rps: 5000, p99_ms: 2 } },
      istio: { added: { getProduct: { p99: 1.4 } } },
    });
    expect(md).toContain("- commit: abc123");
    expect(md).toContain("| `edge_ratio` | 0.7 | ≥ 0.6 | yes |");
    expect(md).toContain("| `placeorder_orders_per_s` | 120 orders/s | ≥ 200 | **no** |");
    expect(md).toContain("| `node_vs_go_echo_plaintext_ratio` | 0.5 | (information) | – |");
    expect(md).toContain("| edge rps | 1 | 2 | 3 | 4 | 5 |");
    expect(md).toContain("| catalog | 80 | 120 |");
    expect(md).toContain("| unary.rps | 5000 |");
    expect(md).toContain("| added.getProduct.p99 | 1.4 |");
    expect(md.indexOf("| order | 3.5 |")).toBeLessThan(md.indexOf("| payment | 1 |"));
  });

  it("says when bench-mesh or bench-istio left no results", () => {
    expect(flatten(undefined)).toEqual([]);
    const md = renderResults({
      date: "d", machine: "m", commit: "c", rounds: 5, figures: [], perRound: {}, rss: [], cpu: {}, errors: { "x:UNAVAILABLE": 2 }, notes: [], mesh: undefined,
    });
    expect(md).toContain("did not write bench/results/mesh.json");
    expect(md).toContain("did not write bench/results/istio.json");
    expect(md).toContain("`make bench-tracing` did not write bench/results/tracing.json");
    expect(md).toContain("- x:UNAVAILABLE: 2");
  });
});
