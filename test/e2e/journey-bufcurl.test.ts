// The same journey with buf curl (gRPC protocol, HTTP/2 prior knowledge), using gen/shop.binpb as
// the schema, through the edge.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { EDGE, GOOD_CARD, repo, sh } from "./support.js";

function bufCurl<T>(method: string, body: unknown, token?: string): T {
  const args = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--schema", join(repo, "gen", "shop.binpb"),
    "--timeout", "20s", "-d", JSON.stringify(body)];
  if (token) args.push("-H", `authorization: Bearer ${token}`);
  args.push(`http://${EDGE}/${method}`);
  const r = sh(join(repo, "node_modules", ".bin", "buf"), args);
  if (r.code !== 0) throw new Error(`buf curl ${method} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe("user journey through the edge (buf curl)", () => {
  it("registers, logs in, browses, adds to cart, orders and reads the order back", () => {
    const email = `bufcurl-${randomUUID()}@example.com`;
    const password = "correct horse battery";
    bufCurl("shop.auth.v1.AuthService/Register", { email, password });
    const { accessToken } = bufCurl<{ accessToken: string }>("shop.auth.v1.AuthService/Login", { email, password });

    const { products } = bufCurl<{ products: { id: string; price: { amountMinor: string } }[] }>(
      "shop.catalog.v2.CatalogService/ListProducts", { pageSize: 4 });
    const product = products[2]!;
    bufCurl("shop.cart.v1.CartService/AddItem", { productId: product.id, quantity: 1 }, accessToken);
    const { order } = bufCurl<{ order: { id: string; status: string; total: { amountMinor: string } } }>(
      "shop.order.v1.OrderService/PlaceOrder", { requestId: randomUUID(), card: GOOD_CARD }, accessToken);
    expect(order.status).toBe("ORDER_STATUS_CONFIRMED");
    expect(order.total.amountMinor).toBe(product.price.amountMinor);

    const { orders } = bufCurl<{ orders: { id: string }[] }>("shop.order.v1.OrderService/ListOrders", {}, accessToken);
    expect(orders.map((o) => o.id)).toEqual([order.id]);
  });
});
