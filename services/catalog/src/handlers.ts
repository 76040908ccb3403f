// gRPC adapters of catalog v1 and v2: thin functions mapping messages to the shared use cases.
// Both versions read the same store; v1 sees the price as price_usd_cents. Reads answer with
// products encoded once per stored record (mesh's encoderOf; a record in the view is never
// changed, only replaced: store/product-view.ts).
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { currentUser, encoderOf, framed } from "@shopmesh/mesh";
import * as v1 from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import * as v2 from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import type { Catalog } from "./domain/catalog.js";
import type { ProductRecord } from "./store/product-store.js";

/** Maps a stored product to the v1 message (prices are USD cents; the store holds only USD). */
export function toV1(p: ProductRecord): MessageInitShape<typeof v1.ProductSchema> {
  return { id: p.id, name: p.name, description: p.description, pictureUrl: p.pictureUrl,
    priceUsdCents: BigInt(p.price.amountMinor), categories: p.categories };
}

/** Maps a stored product to the v2 message. */
export function toV2(p: ProductRecord): MessageInitShape<typeof v2.ProductSchema> {
  return { id: p.id, name: p.name, description: p.description, pictureUrl: p.pictureUrl,
    price: { currencyCode: p.price.currencyCode, amountMinor: BigInt(p.price.amountMinor) },
    categories: p.categories, stock: p.stock, updateTime: timestampFromDate(p.updateTime) };
}

/** shop.catalog.v1.CatalogService over the catalog use cases. */
export function catalogV1Handlers(catalog: Catalog): ServiceImpl<typeof v1.CatalogService> {
  const bytes = encoderOf(v1.ProductSchema, toV1);
  return {
    async getProduct(req) {
      return framed(v1.GetProductResponseSchema, "product", [bytes(await catalog.get(req.id))]);
    },
    async listProducts(req) {
      const r = await catalog.list({ api: "v1", pageSize: req.pageSize, pageToken: req.pageToken });
      return framed(v1.ListProductsResponseSchema, "products", r.products.map(bytes), { field: "nextPageToken", value: r.nextPageToken });
    },
    async searchProducts(req) {
      return framed(v1.SearchProductsResponseSchema, "products", (await catalog.search(req.query, req.pageSize)).map(bytes));
    },
  };
}

/** shop.catalog.v2.CatalogService over the catalog use cases. */
export function catalogV2Handlers(catalog: Catalog): ServiceImpl<typeof v2.CatalogService> {
  const bytes = encoderOf(v2.ProductSchema, toV2);
  return {
    async getProduct(req) {
      return framed(v2.GetProductResponseSchema, "product", [bytes(await catalog.get(req.id))]);
    },
    async batchGetProducts(req) {
      return framed(v2.BatchGetProductsResponseSchema, "products", (await catalog.batchGet(req.ids)).map(bytes));
    },
    async listProducts(req) {
      const r = await catalog.list({ api: "v2", pageSize: req.pageSize, pageToken: req.pageToken,
        category: req.category, minPrice: req.minPrice, maxPrice: req.maxPrice });
      return framed(v2.ListProductsResponseSchema, "products", r.products.map(bytes), { field: "nextPageToken", value: r.nextPageToken });
    },
    async searchProducts(req) {
      return framed(v2.SearchProductsResponseSchema, "products", (await catalog.search(req.query, req.pageSize)).map(bytes));
    },
    async upsertProduct(req, ctx: HandlerContext) {
      const p = req.product;
      const input = { id: p?.id ?? "", name: p?.name ?? "", description: p?.description ?? "",
        pictureUrl: p?.pictureUrl ?? "", price: p?.price, categories: p?.categories ?? [], stock: p?.stock ?? 0 };
      return { product: toV2(await catalog.upsert(input, currentUser(ctx))) };
    },
    async *watchProduct(req, ctx: HandlerContext) {
      for await (const p of catalog.watch(req.id, ctx.signal)) yield { product: toV2(p) };
    },
  };
}
