// The topology schema check: the real mesh/topology.json passes, and each kind of fault fails with
// the file and the field at fault.
import { readFileSync } from "node:fs";
import path from "node:path";
import { checkTopology, defaultTopologyPath, loadTopology, type Topology } from "./topology.js";

const real = (): Topology => JSON.parse(readFileSync(defaultTopologyPath, "utf8")) as Topology;
const fixture = path.join(import.meta.dirname, "..", "fixtures", "topology-bad-port.json");

test("the real mesh/topology.json passes", () => {
  const topology = loadTopology();
  // The shop's services, and any added since (docs/adding-a-service.md): the list is not pinned here.
  expect(Object.keys(topology.services)).toEqual(expect.arrayContaining(["auth", "catalog", "cart", "payment", "order", "recommendation"]));
  expect(() => checkTopology(real(), "mesh/topology.json")).not.toThrow();
});

test("a bad fixture fails with the file and the field at fault", () => {
  expect(() => loadTopology(fixture)).toThrow(
    new Error(`${path.relative(process.cwd(), fixture)}: services.cart.port must be an integer`));
});

test("the message names mesh/topology.json and the field", () => {
  const t = real() as unknown as { services: { cart: { port: unknown } } };
  t.services.cart.port = "50053";
  expect(() => checkTopology(t, "mesh/topology.json")).toThrow(
    new Error("mesh/topology.json: services.cart.port must be an integer"));
});

test.each<[string, (t: any) => void, string]>([
  ["a port out of range", (t) => { t.edge.port = 70000; }, "edge.port must be a port number (1 to 65535)"],
  ["a missing store", (t) => { delete t.stores.redis; }, "stores.redis must be an object"],
  ["an unknown field", (t) => { t.services.cart.adminport = 1; }, "services.cart.adminport is not a known field"],
  ["a language the runner cannot start", (t) => { t.services.cart.language = "go"; }, 'services.cart.language must be "ts" or "python"'],
  ["a caller that is no service", (t) => { t.services.cart.methods["shop.cart.v1.CartService/GetCart"].callers.push("ordr"); },
    'services.cart.methods["shop.cart.v1.CartService/GetCart"].callers[2] names no service ("ordr")'],
  ["a method of a service it does not host", (t) => { t.services.cart.methods["shop.order.v1.OrderService/GetOrder"] = { callers: ["edge"] }; },
    'services.cart.methods["shop.order.v1.OrderService/GetOrder"] is not a <grpcService>/<Method> of this service\'s grpcServices'],
  ["public that is not a boolean", (t) => { t.services.auth.methods["shop.auth.v1.AuthService/Login"].public = "yes"; },
    'services.auth.methods["shop.auth.v1.AuthService/Login"].public must be true or false'],
  ["a service name in capitals", (t) => { t.services.Cart = structuredClone(t.services.cart); }, "services.Cart is not a service name (lower-case letters only)"],
  ["an empty prefix", (t) => { t.infrastructureMethods.prefixes = [""]; }, "infrastructureMethods.prefixes[0] must be a non-empty string"],
])("%s is named with its field", (_, spoil, message) => {
  const t = real();
  spoil(t);
  expect(() => checkTopology(t, "mesh/topology.json")).toThrow(new Error(`mesh/topology.json: ${message}`));
});

test("every fault is listed, not only the first", () => {
  const t = real() as unknown as { trustDomain: unknown; services: { order: { adminPort: unknown } } };
  t.trustDomain = 1;
  t.services.order.adminPort = 9095.5;
  expect(() => checkTopology(t, "topo.json")).toThrow(
    new Error("topo.json: trustDomain must be a non-empty string; services.order.adminPort must be an integer"));
});

test("a file that is not JSON names the file", () => {
  expect(() => checkTopology(null, "x.json")).toThrow(new Error("x.json: must be an object"));
  const notJson = path.join(import.meta.dirname, "topology.ts");
  expect(() => loadTopology(notJson)).toThrow(`${path.relative(process.cwd(), notJson)}: Unexpected token`);
});
