// The Go and Python example clients (examples/, built on gen/go and gen/python), run as a user
// would run them against the mesh through the edge. Each ends with the line
// "order <id> status <status> total <currency> <amount> cart_total <currency> <amount>", where
// cart_total is what the client summed from its cart and total is what the order service charged.
import { join } from "node:path";
import { repo, sh } from "./support.js";

const LAST = /^order (\S+) status (\S+) total ([A-Z]{3}) (\d+) cart_total ([A-Z]{3}) (\d+)$/m;

function expectConfirmedOrder(stdout: string): void {
  const m = LAST.exec(stdout);
  expect(m).not.toBeNull();
  const [, orderId, status, currency, total, cartCurrency, cartTotal] = m!;
  expect(orderId).toMatch(/^ord_/);
  expect(status).toBe("ORDER_STATUS_CONFIRMED");
  expect(Number(total)).toBeGreaterThan(0);
  expect([currency, total]).toEqual([cartCurrency, cartTotal]);
}

describe("example clients through the edge", () => {
  it("the Go client (grpc-go on gen/go) places an order whose total matches the cart", () => {
    const r = sh("bash", ["-c", "cd examples/go-client && GOTOOLCHAIN=local go run . -addr 127.0.0.1:8080"], undefined, 240_000);
    expect(r.stderr).not.toMatch(/panic|error/i);
    expect(r.code).toBe(0);
    expectConfirmedOrder(r.stdout);
  }, 240_000);

  it("the Python client (grpcio on gen/python) places an order whose total matches the cart", () => {
    const r = sh(join(repo, ".venv", "bin", "python"), ["examples/python-client/shop_client.py", "--addr", "127.0.0.1:8080"], undefined, 60_000);
    expect(r.code).toBe(0);
    expectConfirmedOrder(r.stdout);
  });
});
