import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, loadScenarios, runningMesh } from "./loadtest.js";
import { parseScenario, renderScenario } from "./scenario.js";

const root = join(import.meta.dirname, "../..");

describe("scenario files", () => {
  it("covers every method the issue names, and each file is valid", () => {
    const scenarios = loadScenarios(join(root, "loadtest/scenarios"));
    expect(scenarios.map((s) => s.call).sort()).toEqual([
      "shop.cart.v1.CartService/AddItem",
      "shop.catalog.v1.CatalogService/GetProduct",
      "shop.catalog.v1.CatalogService/ListProducts",
      "shop.catalog.v2.CatalogService/GetProduct",
      "shop.catalog.v2.CatalogService/ListProducts",
      "shop.order.v1.OrderService/PlaceOrder",
    ]);
    // Every rendered request is JSON once ghz's template actions are taken out.
    for (const s of scenarios) {
      const { data } = renderScenario(s, { productIds: ["A1", "B2"], tokens: ["t1"] });
      expect(() => JSON.parse(data.replace(/\{\{[^}]*\}\}/g, "x"))).not.toThrow();
      expect(data).not.toContain("%");
    }
  });

  it("rejects a malformed scenario with the file's name", () => {
    expect(() => parseScenario("bad.json", { name: "Bad Name", call: "nope", data: 1 })).toThrow(
      /bad\.json: name must be kebab-case; call must be package.Service\/Method; data must be an object/,
    );
    expect(() =>
      parseScenario("x.json", { name: "x", call: "a.B/C", data: {}, mode: "one-per-cart" }),
    ).toThrow(/one-per-cart needs auth/);
  });

  it("renders ids and tokens as Go raw strings and caps the product list", () => {
    const s = parseScenario("s.json", {
      name: "s",
      call: "a.B/C",
      auth: true,
      maxProducts: 2,
      data: { id: "{{ index (list %PRODUCT_IDS%) (mod .RequestNumber %PRODUCTS%) }}" },
    });
    const r = renderScenario(s, { productIds: ["P1", "P2", "P3"], tokens: ["t1", "t2", "t3"] });
    expect(JSON.parse(r.data)).toEqual({ id: "{{ index (list `P1` `P2`) (mod .RequestNumber 2) }}" });
    expect(JSON.parse(r.metadata!)).toEqual({
      authorization: "Bearer {{ index (list `t1` `t2` `t3`) (mod .RequestNumber 3) }}",
    });
  });
});

describe("loadtest config", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ edge: "127.0.0.1:8080", duration: "30s", concurrency: 20, orders: 200, users: 20 });
  });

  it("refuses a non-loopback target and bad knobs at start", () => {
    expect(() => loadConfig({ LOADTEST_EDGE: "10.0.0.5:8080" })).toThrow(/loopback/);
    expect(() => loadConfig({ LOADTEST_DURATION: "forever" })).toThrow(/LOADTEST_DURATION/);
    expect(() => loadConfig({ LOADTEST_CONCURRENCY: "0" })).toThrow(/LOADTEST_CONCURRENCY/);
  });
});

describe("MESH=istio|local must name the mesh that runs", () => {
  const dir = mkdtempSync(join(tmpdir(), "shopmesh-loadtest-mesh-"));
  mkdirSync(join(dir, ".run"));
  const record = (names: string[]) => writeFileSync(join(dir, ".run/mesh.json"), JSON.stringify(names.map((name) => ({ name }))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("tells istio mode (istiod recorded) from local mode, and refuses a mismatch", () => {
    record(["ferretdb", "catalog", "edge"]);
    expect(runningMesh(dir, undefined)).toBe("local");
    expect(runningMesh(dir, "local")).toBe("local");
    expect(() => runningMesh(dir, "istio")).toThrow("MESH=istio, but the mesh runs in local mode: make up MESH=istio first");
    record(["istiod", "catalog-sidecar", "catalog", "gateway"]);
    expect(runningMesh(dir, "istio")).toBe("istio");
    expect(() => runningMesh(dir, "local")).toThrow("the mesh runs in istio mode");
  });

  it("refuses MESH=istio when no mesh runs", () => {
    rmSync(join(dir, ".run/mesh.json"), { force: true });
    expect(runningMesh(dir, undefined)).toBeUndefined();
    expect(() => runningMesh(dir, "istio")).toThrow("MESH=istio, but no mesh runs");
  });
});
