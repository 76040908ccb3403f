// Against `make up MESH=istio`: istiod's and each Envoy's own word that every pushed config was
// accepted, and that a sidecar enforces what istio/ declares before a call reaches the app:
// STRICT mTLS (plaintext and another CA refused, the mesh's certificate served) and the
// AuthorizationPolicies (a mesh identity that is not a caller is refused by Envoy's RBAC filter,
// and the app never sees the call). Counters come from the sidecars' admin ports.
import http2 from "node:http2";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDevCerts } from "@shopmesh/mesh";
import { repo } from "../e2e/support.js";
import { appCounter, proxies, sidecar, stat, text } from "./envoy.js";

const ISTIOD = "http://127.0.0.1:15014";
const meshCerts = join(repo, ".run", "istio", "certs");

interface Outcome { status?: string; message?: string; body?: string; error?: string; serverSan?: string }

/** One unary gRPC call over HTTP/2 straight to a sidecar's inbound listener, with the TLS we choose. */
function call(target: string, path: string, body: Buffer, tls?: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {};
    const session = http2.connect(tls ? `https://${target}` : `http://${target}`, tls
      ? { ...tls, ALPNProtocols: ["h2"], checkServerIdentity: (_h, cert) => { out.serverSan = cert.subjectaltname; return undefined; } }
      : {});
    const done = () => { session.destroy(); resolve(out); };
    session.on("error", (e) => { out.error = e.message; done(); });
    const timer = setTimeout(() => { out.error = "timeout"; done(); }, 5000);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers",
      ":authority": "catalog.shop.svc.cluster.local:50052" });
    const chunks: Buffer[] = [];
    req.on("response", (h) => { if (h["grpc-status"]) { out.status = String(h["grpc-status"]); out.message = String(h["grpc-message"] ?? ""); } });
    req.on("data", (b: Buffer) => chunks.push(b));
    req.on("trailers", (t) => { out.status = String(t["grpc-status"]); out.message = decodeURIComponent(String(t["grpc-message"] ?? "")); });
    req.on("error", (e) => { out.error ??= e.message; });
    req.on("close", () => { clearTimeout(timer); out.body = Buffer.concat(chunks).toString("hex"); done(); });
    req.end(Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]));
  });
}

const meshCert = (sa: string) => ({ ca: readFileSync(join(meshCerts, "ca.pem")), cert: readFileSync(join(meshCerts, `${sa}.pem`)),
  key: readFileSync(join(meshCerts, `${sa}-key.pem`)) });
const HEALTH = "/grpc.health.v1.Health/Check";
const started = (method: string) => appCounter("payment", "grpc_server_started_total", { grpc_method: method });

describe("istiod and every Envoy accepted the configuration", () => {
  test("istiod rejected no push, and every proxy ACKed the last nonce of every type", async () => {
    // pilot_total_xds_rejects appears with the first reject: absent means none.
    const rejects = (await text(`${ISTIOD}/metrics`)).split("\n").filter((l) => l.startsWith("pilot_total_xds_rejects") && !l.endsWith(" 0"));
    expect(rejects).toEqual([]);
    const syncz = JSON.parse(await text(`${ISTIOD}/debug/syncz`)) as Record<string, string>[];
    const pods = proxies.map((p) => `${p.env!.POD_NAME}.${p.env!.POD_NAMESPACE}`).sort();
    expect(syncz.map((s) => s.proxy).sort()).toEqual(pods);
    const unacked = syncz.flatMap((s) => ["cluster", "listener", "route", "endpoint"]
      .filter((t) => !s[`${t}_sent`] || s[`${t}_sent`] !== s[`${t}_acked`]).map((t) => `${s.proxy} ${t}`));
    expect(unacked).toEqual([]);
  });

  test("no Envoy rejected an update, and each took listeners and clusters", async () => {
    const seen = await Promise.all(proxies.map(async (p) => ({
      name: p.name,
      rejected: await stat(p.admin, /update_rejected$/),
      lds: (await stat(p.admin, /^listener_manager\.lds\.update_success$/)) > 0,
      cds: (await stat(p.admin, /^cluster_manager\.cds\.update_success$/)) > 0,
    })));
    expect(seen).toEqual(proxies.map((p) => ({ name: p.name, rejected: 0, lds: true, cds: true })));
  });
});

describe("STRICT mTLS at a sidecar's inbound listener (PeerAuthentication)", () => {
  const catalog = sidecar("catalog");
  const inbound = `${catalog.ip}:50052`;
  const listener = `listener.${catalog.ip.replaceAll(".", "\\.")}_50052`;

  test("a plaintext client is refused before any filter chain", async () => {
    const before = await stat(catalog.admin, new RegExp(`^${listener}\\.no_filter_chain_match$`));
    const r = await call(inbound, HEALTH, Buffer.alloc(0));
    expect(r.status).toBeUndefined();
    expect(r.error).toBeDefined();
    expect(await stat(catalog.admin, new RegExp(`^${listener}\\.no_filter_chain_match$`))).toBeGreaterThan(before);
  });

  test("a client whose certificate another CA signed is refused in the handshake", async () => {
    const dir = mkdtempSync(join(tmpdir(), "shopmesh-other-ca-"));
    try {
      // The same SPIFFE id a real caller has, from a CA the mesh does not trust.
      makeDevCerts(dir, ["cart"], { trustDomain: "cluster.local", namespace: "shop" });
      const before = await stat(catalog.admin, new RegExp(`^${listener}\\.ssl\\.(fail_verify_error|connection_error)$`));
      const r = await call(inbound, HEALTH, Buffer.alloc(0), { ca: readFileSync(join(meshCerts, "ca.pem")),
        cert: readFileSync(join(dir, "cart.pem")), key: readFileSync(join(dir, "cart-key.pem")) });
      expect(r.status).toBeUndefined();
      expect(r.error).toBeDefined();
      expect(await stat(catalog.admin, new RegExp(`^${listener}\\.ssl\\.(fail_verify_error|connection_error)$`))).toBeGreaterThan(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a client with the mesh's certificate is served, by a server that proves catalog's SPIFFE id", async () => {
    const r = await call(inbound, HEALTH, Buffer.alloc(0), meshCert("cart"));
    expect(r).toMatchObject({ status: "0", serverSan: "URI:spiffe://cluster.local/ns/shop/sa/catalog, DNS:catalog" });
    expect(r.body).toBe("00000000020801"); // HealthCheckResponse { status: SERVING }
  });
});

describe("AuthorizationPolicy is enforced by the sidecar, before the app", () => {
  test("cart's identity calling payment (only order may) is refused by Envoy's RBAC filter; payment never sees it", async () => {
    const payment = sidecar("payment");
    const denied = new RegExp(`^http\\.inbound_${payment.ip.replaceAll(".", "\\.")}_50054;\\.rbac\\.denied$`);
    const [deniedBefore, startedBefore] = [await stat(payment.admin, denied), await started("GetCharge")];
    // GetChargeRequest { charge_id = 1: "x" }
    const r = await call(`${payment.ip}:50054`, "/shop.payment.v1.PaymentService/GetCharge", Buffer.from([0x0a, 1, 0x78]), meshCert("cart"));
    expect(r).toMatchObject({ status: "7", message: "RBAC: access denied" });
    expect(await stat(payment.admin, denied)).toBe(deniedBefore + 1);
    expect(await started("GetCharge")).toBe(startedBefore);
  });

  test("order's identity passes RBAC on a method the policy lets it call without a user, and payment answers", async () => {
    const payment = sidecar("payment");
    const before = await started("ResolveCharge");
    // An empty ResolveChargeRequest: past Envoy, payment itself refuses it (idempotency_key is required), writing nothing.
    const r = await call(`${payment.ip}:50054`, "/shop.payment.v1.PaymentService/ResolveCharge", Buffer.alloc(0), meshCert("order"));
    expect(r.status).toBe("3");
    expect(await started("ResolveCharge")).toBe(before + 1);
  });
});
