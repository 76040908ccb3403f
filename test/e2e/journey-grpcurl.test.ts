// The whole user journey through the edge with grpcurl, as a real outside client.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { EDGE, GOOD_CARD, grpcurl, grpcurlOk, ISTIO_DIFFERS, newUser, repo, sh } from "./support.js";

interface Money { currencyCode: string; amountMinor: string }
interface ProductV2 { id: string; name: string; price: Money; stock?: number }

describe("user journey through the edge (grpcurl)", () => {
  let user: ReturnType<typeof newUser>;
  beforeAll(() => { user = newUser("grpcurl"); });
  let product: ProductV2;
  let orderId: string;

  it("lists every service through reflection", () => {
    const r = sh(join(repo, ".bin", "grpcurl"), ["-plaintext", EDGE, "list"]);
    expect(r.code).toBe(0);
    for (const s of ["shop.auth.v1.AuthService", "shop.catalog.v1.CatalogService", "shop.catalog.v2.CatalogService",
      "shop.cart.v1.CartService", "shop.order.v1.OrderService", "shop.payment.v1.PaymentService",
      "shop.recommendation.v1.RecommendationService"]) {
      expect(r.stdout).toContain(s);
    }
    const d = sh(join(repo, ".bin", "grpcurl"), ["-plaintext", EDGE, "describe", "shop.catalog.v2.CatalogService"]);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain("rpc WatchProduct ( .shop.catalog.v2.WatchProductRequest ) returns ( stream .shop.catalog.v2.WatchProductResponse )");
  });

  it("prints the field violations of an InvalidArgument by name, for a TypeScript and the Python service", () => {
    // grpcurl resolves google.rpc.BadRequest through reflection; unresolved, it prints "is not recognized".
    for (const [method, body, field] of [
      ["shop.catalog.v2.CatalogService/GetProduct", { id: "!!" }, "id"],
      ["shop.recommendation.v1.RecommendationService/ListRecommendations", { maxResults: 1000 }, "max_results"],
    ] as const) {
      const r = grpcurl(method, body);
      expect(r.code).not.toBe(0);
      const out = r.stdout + r.stderr;
      expect(out).toContain("Code: InvalidArgument");
      expect(out).not.toContain("is not recognized");
      expect(out).toContain('"@type": "type.googleapis.com/google.rpc.BadRequest"');
      expect(out).toMatch(new RegExp(`"fieldViolations": \\[\\s*\\{\\s*"field": "${field}"`));
    }
  });

  it("lists and searches products in v1 and v2", () => {
    const v1 = grpcurlOk<{ products: { id: string; priceUsdCents: string }[]; nextPageToken: string }>(
      "shop.catalog.v1.CatalogService/ListProducts", { pageSize: 5 });
    expect(v1.products).toHaveLength(5);
    expect(v1.nextPageToken).not.toBe("");
    const v2 = grpcurlOk<{ products: ProductV2[] }>("shop.catalog.v2.CatalogService/ListProducts", { pageSize: 5 });
    expect(v2.products.map((p) => p.id)).toEqual(v1.products.map((p) => p.id));
    expect(v2.products[0]!.price.currencyCode).toBe("USD");
    expect(v2.products[0]!.price.amountMinor).toBe(v1.products[0]!.priceUsdCents);
    product = v2.products[0]!;
    const word = product.name.split(" ")[0]!.toUpperCase();
    const found = grpcurlOk<{ products: ProductV2[] }>("shop.catalog.v2.CatalogService/SearchProducts", { query: word });
    expect(found.products.map((p) => p.id)).toContain(product.id);
    const foundV1 = grpcurlOk<{ products: ProductV2[] }>("shop.catalog.v1.CatalogService/SearchProducts", { query: word });
    expect(foundV1.products.map((p) => p.id)).toContain(product.id);
  });

  it("watches a product (server stream) until the deadline", () => {
    const r = grpcurl("shop.catalog.v2.CatalogService/WatchProduct", { id: product.id }, undefined, ["-max-time", "2"]);
    // The stream sends the current product at once, then stays open until grpcurl's deadline.
    expect(r.stdout).toContain(`"id": "${product.id}"`);
    expect(ISTIO_DIFFERS.streamDeadline(r)).toBe("DeadlineExceeded");
  });

  it("adds to the cart, places an order and reads it back", () => {
    const cart = grpcurlOk<{ cart: { items: { productId: string; quantity: number }[] } }>(
      "shop.cart.v1.CartService/AddItem", { productId: product.id, quantity: 2 }, user.token);
    expect(cart.cart.items).toEqual([{ productId: product.id, quantity: 2 }]);

    const placed = grpcurlOk<{ order: { id: string; status: string; total: Money; items: unknown[] } }>(
      "shop.order.v1.OrderService/PlaceOrder", { requestId: randomUUID(), card: GOOD_CARD }, user.token);
    expect(placed.order.status).toBe("ORDER_STATUS_CONFIRMED");
    expect(placed.order.total).toEqual({ currencyCode: "USD", amountMinor: String(2 * Number(product.price.amountMinor)) });
    orderId = placed.order.id;

    const got = grpcurlOk<{ order: { id: string; status: string } }>("shop.order.v1.OrderService/GetOrder", { orderId }, user.token);
    expect(got.order).toMatchObject({ id: orderId, status: "ORDER_STATUS_CONFIRMED" });
    const after = grpcurlOk<{ cart: { items?: unknown[] } }>("shop.cart.v1.CartService/GetCart", {}, user.token);
    expect(after.cart.items ?? []).toEqual([]);
  });

  it("recommends products", () => {
    const recs = grpcurlOk<{ recommendations: { productId: string; name: string }[] }>(
      "shop.recommendation.v1.RecommendationService/ListRecommendations", { maxResults: 3 });
    expect(recs.recommendations.length).toBeGreaterThan(0);
    expect(recs.recommendations.length).toBeLessThanOrEqual(3);
    expect(recs.recommendations[0]!.name).not.toBe("");
  });
});
