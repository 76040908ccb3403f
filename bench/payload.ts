// The one unary payload every benchmark scenario sends and answers: catalog v2 GetProduct.
import { create } from "@bufbuild/protobuf";
import {
  GetProductRequestSchema,
  GetProductResponseSchema,
  type GetProductRequest,
  type GetProductResponse,
} from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";

/** The request: a product id. */
export function benchRequest(): GetProductRequest {
  return create(GetProductRequestSchema, { id: "p-000123" });
}

/** The response: a realistic product (about 300 bytes on the wire). */
export function benchProduct(): GetProductResponse {
  return create(GetProductResponseSchema, {
    product: {
      id: "p-000123",
      name: "Stainless steel water bottle, 750 ml",
      description:
        "Double-walled vacuum insulated bottle that keeps drinks cold for 24 hours and hot for 12. " +
        "Leak-proof lid, powder-coated finish, fits most cup holders. Dishwasher safe.",
      pictureUrl: "https://cdn.shop.local/img/p-000123.jpg",
      price: { currencyCode: "EUR", amountMinor: 2499n },
      categories: ["kitchen", "outdoor", "drinkware"],
      stock: 42,
    },
  });
}
