// gRPC adapters of catalog v1 and v2: thin functions mapping messages to the shared use cases.
// Both versions read the same store; v1 sees the price as price_usd_cents.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { currentUser } from "@shopmesh/mesh";
import type { CatalogService as CatalogV1, ProductSchema as ProductV1Schema } from "@shopmesh/gen/shop/catalog/v1/catalog_pb.js";
import type { CatalogService as CatalogV2, ProductSchema as ProductV2Schema } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import type { Catalog } from "./domain/catalog.js";
import type { ProductRecord } from "./store/product-store.js";

/** Maps a stored product to the v1 message (prices are USD cents; the store holds only USD). */
export function toV1(p: ProductRecord): MessageInitShape<typeof ProductV1Schema> {
  return { id: p.id, name: p.name, description: p.description, pictureUrl: p.pictureUrl,
    priceUsdCents: BigInt(p.price.amountMinor), categories: p.categories };
}

/** Maps a stored product to the v2 message. */
export function toV2(p: ProductRecord): MessageInitShape<typeof ProductV2Schema> {
  return { id: p.id, name: p.name, description: p.description, pictureUrl: p.pictureUrl,
    price: { currencyCode: p.price.currencyCode, amountMinor: BigInt(p.price.amountMinor) },
    categories: p.categories, stock: p.stock, updateTime: timestampFromDate(p.updateTime) };
}

/** shop.catalog.v1.CatalogService over the catalog use cases. */
export function catalogV1Handlers(catalog: Catalog): ServiceImpl<typeof CatalogV1> {
  return {
    async getProduct(req) {
      return { product: toV1(await catalog.get(req.id)) };
    },
    async listProducts(req) {
      const r = await catalog.list({ api: "v1", pageSize: req.pageSize, pageToken: req.pageToken });
      return { products: r.products.map(toV1), nextPageToken: r.nextPageToken };
    },
    async searchProducts(req) {
      return { products: (await catalog.search(req.query, req.pageSize)).map(toV1) };
    },
  };
}

/** shop.catalog.v2.CatalogService over the catalog use cases. */
export function catalogV2Handlers(catalog: Catalog): ServiceImpl<typeof CatalogV2> {
  return {
    async getProduct(req) {
      return { product: toV2(await catalog.get(req.id)) };
    },
    async batchGetProducts(req) {
      return { products: (await catalog.batchGet(req.ids)).map(toV2) };
    },
    async listProducts(req) {
      const r = await catalog.list({ api: "v2", pageSize: req.pageSize, pageToken: req.pageToken,
        category: req.category, minPrice: req.minPrice, maxPrice: req.maxPrice });
      return { products: r.products.map(toV2), nextPageToken: r.nextPageToken };
    },
    async searchProducts(req) {
      return { products: (await catalog.search(req.query, req.pageSize)).map(toV2) };
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
