// The same journey with a plain @grpc/grpc-js client (no mesh/ code), through the edge.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, fromBinary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { AuthService, LoginRequestSchema, RegisterRequestSchema } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { EDGE, GOOD_CARD, ISTIO_DIFFERS } from "./support.js";

const client = new grpc.Client(EDGE, grpc.credentials.createInsecure());
afterAll(() => client.close());

function call<I extends DescMessage, O extends DescMessage>(
  service: { typeName: string }, method: { name: string; input: I; output: O },
  input: MessageInitShape<I>, token?: string): Promise<MessageShape<O>> {
  const md = new grpc.Metadata();
  if (token) md.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(`/${service.typeName}/${method.name}`,
      (m: MessageShape<I>) => Buffer.from(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b),
      create(method.input, input), md, { deadline: Date.now() + 10_000 },
      (err, res) => (err || !res ? reject(err) : resolve(res)));
  });
}

describe("user journey through the edge (grpc-js)", () => {
  it("registers, logs in, browses, adds to cart, orders and reads the order back", async () => {
    const email = `grpcjs-${randomUUID()}@example.com`;
    const m = AuthService.method;
    await call(AuthService, m.register, create(RegisterRequestSchema, { email, password: "correct horse battery" }));
    const login = await call(AuthService, m.login, create(LoginRequestSchema, { email, password: "correct horse battery" }));
    expect(login.accessToken.split(".")).toHaveLength(3);
    const token = login.accessToken;

    const page = await call(CatalogService, CatalogService.method.listProducts, { pageSize: 3 });
    expect(page.products).toHaveLength(3);
    const product = page.products[1]!;

    const cart = await call(CartService, CartService.method.addItem, { productId: product.id, quantity: 3 }, token);
    expect(cart.cart?.items.map((i) => [i.productId, i.quantity])).toEqual([[product.id, 3]]);

    const placed = await call(OrderService, OrderService.method.placeOrder, { requestId: randomUUID(), card: GOOD_CARD }, token);
    expect(placed.order?.status).toBe(OrderStatus.CONFIRMED);
    expect(placed.order?.total?.amountMinor).toBe(3n * product.price!.amountMinor);

    const got = await call(OrderService, OrderService.method.getOrder, { orderId: placed.order!.id }, token);
    expect(got.order?.id).toBe(placed.order!.id);
    expect(got.order?.items.map((i) => i.productId)).toEqual([product.id]);
  });

  it("answers UNIMPLEMENTED for a path that is not a shop RPC", async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest("/shop.catalog.v2.CatalogService/DeleteEverything", (b: Buffer) => b, (b: Buffer) => b,
        Buffer.alloc(0), { deadline: Date.now() + 5000 }, (e) => resolve(e));
    });
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it(`maps a missing token to ${ISTIO_DIFFERS.noTokenCode}`, async () => {
    const code = ISTIO_DIFFERS.noTokenCode === "PermissionDenied" ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
    await expect(call(CartService, CartService.method.getCart, {})).rejects.toMatchObject({ code });
  });
});
