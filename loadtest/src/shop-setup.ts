// Shop state the scenarios need, made through the edge like a user would: the product ids, and
// carts filled for checkout.
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { CallError, type EdgeClient } from "./edge-client.js";

/** Lists every product id of the catalog (v2, public), in catalog order. */
export async function listProductIds(client: EdgeClient): Promise<string[]> {
  const ids: string[] = [];
  let pageToken = "";
  // Bounded: a catalog of 5000 products is far beyond the seed, and a loop on a bad token must end.
  for (let page = 0; page < 100; page++) {
    const res = await client.call(CatalogService.method.listProducts, { pageSize: 50, pageToken }).catch((err: unknown) => {
      // The first call of every run: say what to do instead of grpc-js's resolver note.
      if (page === 0 && err instanceof CallError && err.code === "UNAVAILABLE") {
        throw new Error(`the edge does not answer (${err.message.split(".")[0]}): is the mesh up? Run make up first`);
      }
      throw err;
    });
    ids.push(...res.products.map((p) => p.id));
    pageToken = res.nextPageToken;
    if (!pageToken) break;
  }
  return ids;
}

/** Empties each user's cart and puts `items` products (one unit each) in it; `parallel` at once. */
export async function fillCarts(
  client: EdgeClient,
  tokens: readonly string[],
  productIds: readonly string[],
  items = 2,
  parallel = 8,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const i = next++;
      const token = tokens[i]!;
      await client.call(CartService.method.emptyCart, {}, { token });
      for (let k = 0; k < items; k++) {
        const productId = productIds[(i + k * 7) % productIds.length]!;
        await client.call(CartService.method.addItem, { productId, quantity: 1 }, { token });
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

/** Empties each user's cart, so a run leaves no full carts behind. */
export async function emptyCarts(client: EdgeClient, tokens: readonly string[]): Promise<void> {
  await Promise.all(tokens.map((token) => client.call(CartService.method.emptyCart, {}, { token })));
}
