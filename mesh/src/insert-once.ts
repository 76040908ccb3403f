// The one write the money path decides with. An insert under a unique key happens once on
// MongoDB and on FerretDB 1.x alike, atomically and in O(log n); a guarded update does not
// (FerretDB runs it as read-then-write): docs/architecture.md "The store".

/** Runs one insert; true when it landed, false when its unique key was taken (E11000). */
export async function insertOnce(insert: () => Promise<unknown>): Promise<boolean> {
  try {
    await insert();
    return true;
  } catch (err) {
    // Duck-typed, so mesh needs no driver: MongoServerError carries the server's numeric code.
    if ((err as { code?: unknown } | null)?.code === 11000) return false;
    throw err;
  }
}

/**
 * Inserts `fact`, or, when its key was taken, reads the fact that stands: the first writer wins
 * and every writer gets the winner's fact. Throws when the key is taken but nothing can be read
 * (facts are never deleted, so that is a bug).
 */
export async function firstWriterWins<T>(fact: T, insert: () => Promise<unknown>, read: () => Promise<T | null | undefined>): Promise<T> {
  if (await insertOnce(insert)) return fact;
  const stands = await read();
  if (stands === null || stands === undefined) throw new Error("a fact whose key is taken could not be read");
  return stands;
}
