// Catalog's responses framed from cached product bytes (mesh's encoderOf and framed) are byte for
// byte what toBinary() writes for the same message, for every read of both API versions, and a
// replaced record is encoded anew.
import { create, equals, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { type EncodedMessage, encoderOf, framed, isEncoded } from "@shopmesh/mesh";
import * as v1 from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import * as v2 from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { toV1, toV2 } from "./handlers.js";
import type { ProductRecord } from "./store/product-store.js";

const product = (id: string, name: string): ProductRecord => ({
  id, name, description: "déjà vu, 珈琲 😀", pictureUrl: `https://example.test/${id}.png`,
  price: { currencyCode: "USD", amountMinor: 1999 }, categories: ["kitchen", "gifts"], stock: 7, updateTime: new Date(1_700_000_000_123),
});
const records = [product("p1", "Mug"), product("p2", "Linen shirt"), product("p3", "")];

function bytesOf(res: unknown, schema: DescMessage): Uint8Array {
  expect(isEncoded(res)).toBe(true);
  expect((res as EncodedMessage).schema.typeName).toBe(schema.typeName);
  return (res as EncodedMessage).bytes;
}

describe("encoded catalog responses", () => {
  const e1 = encoderOf(v1.ProductSchema, toV1);
  const e2 = encoderOf(v2.ProductSchema, toV2);

  it.each([
    ["v2 GetProduct", v2.GetProductResponseSchema, "product", records.slice(0, 1), e2, (ps: ProductRecord[]) => ({ product: toV2(ps[0]!) })],
    ["v1 GetProduct", v1.GetProductResponseSchema, "product", records.slice(0, 1), e1, (ps: ProductRecord[]) => ({ product: toV1(ps[0]!) })],
    ["v2 BatchGetProducts", v2.BatchGetProductsResponseSchema, "products", records, e2, (ps: ProductRecord[]) => ({ products: ps.map(toV2) })],
    ["v2 SearchProducts, none found", v2.SearchProductsResponseSchema, "products", [], e2, () => ({ products: [] })],
    ["v1 SearchProducts", v1.SearchProductsResponseSchema, "products", records, e1, (ps: ProductRecord[]) => ({ products: ps.map(toV1) })],
  ] as const)("%s is what toBinary writes", (_name, schema, field, ps, enc, init) => {
    const got = bytesOf(framed(schema as DescMessage, field, ps.map(enc)), schema as DescMessage);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const want = toBinary(schema as DescMessage, create(schema as DescMessage, init([...ps]) as any));
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
  });

  it.each(["", "next-page-token"])("ListProducts with page token %j is what toBinary writes, in both versions", (token) => {
    for (const [schema, enc, map] of [[v2.ListProductsResponseSchema, e2, toV2], [v1.ListProductsResponseSchema, e1, toV1]] as const) {
      const got = bytesOf(framed(schema, "products", records.map(enc), { field: "nextPageToken", value: token }), schema);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const want = create(schema as DescMessage, { products: records.map(map as (p: ProductRecord) => any), nextPageToken: token });
      expect(Buffer.from(got).equals(Buffer.from(toBinary(schema as DescMessage, want)))).toBe(true);
      expect(equals(schema as DescMessage, fromBinary(schema as DescMessage, got), want)).toBe(true);
    }
  });

  it("encodes a record once, and a replaced record anew", () => {
    const first = records[0]!;
    expect(e2(first)).toBe(e2(first));
    const renamed = { ...first, name: "Big mug" };
    expect(fromBinary(v2.ProductSchema, e2(renamed)).name).toBe("Big mug");
    expect(fromBinary(v2.ProductSchema, e2(first)).name).toBe("Mug");
  });

  it("refuses a field the response does not have, a scalar field, and two items for a singular field", () => {
    expect(() => framed(v2.GetProductResponseSchema, "products", [])).toThrow("shop.catalog.v2.GetProductResponse has no field products");
    expect(() => framed(v2.ListProductsResponseSchema, "nextPageToken", [])).toThrow("shop.catalog.v2.ListProductsResponse.nextPageToken is not a message field");
    expect(() => framed(v2.GetProductResponseSchema, "product", [e2(records[0]!), e2(records[1]!)])).toThrow("holds one message, not 2");
  });
});
