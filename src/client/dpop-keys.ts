/**
 * Where the client's DPoP key pair is kept. In a browser, IndexedDB: it keeps a `CryptoKey`
 * as the key itself (a structured clone, never its bytes), so a non-extractable private key
 * survives reloads and is shared by the tabs of the origin while no script can read it out.
 */

/** A WebCrypto `CryptoKey`, as far as the client looks at one. */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
}

export interface DpopKeyPair {
  privateKey: WebCryptoKey;
  publicKey: WebCryptoKey;
}

export interface DpopKeyStorage {
  /** The key pair kept, or `null`. */
  get(): Promise<DpopKeyPair | null>;
  /**
   * Keeps `pair` unless one is kept already, and returns the one kept: two tabs that create a
   * key at once must both end up signing with the same one.
   */
  add(pair: DpopKeyPair): Promise<DpopKeyPair>;
  /** Forgets the key pair (sign-out): the next sign-in gets a new one. */
  clear(): Promise<void>;
}

/**
 * Kept in memory only: for Node, tests, or a page that wants a new key per load.
 *
 * @example
 * ```ts
 * import { createSessionClient, memoryDpopKeys, memoryTokens } from "sessionkit/client";
 *
 * // Outside a browser (Node 20+ has WebCrypto): a DPoP key for this process only.
 * const client = createSessionClient({
 *   baseUrl: "https://app.example",
 *   strategy: "jwt",
 *   tokens: memoryTokens(),
 *   dpop: { keys: memoryDpopKeys() },
 * });
 * const me = await client.fetch("/api/jwt/me"); // Authorization: DPoP …, DPoP: <proof>
 * client.close(); // the refresh timer and the tab channel would keep the process alive
 * ```
 */
export function memoryDpopKeys(): DpopKeyStorage {
  let kept: DpopKeyPair | null = null;
  return {
    get: async () => kept,
    add: async (pair) => {
      kept ??= pair;
      return kept;
    },
    clear: async () => {
      kept = null;
    },
  };
}

// The slice of IndexedDB used here (the package is built without the DOM types).
interface IdbRequest<T> {
  readonly result: T;
  readonly error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
}
interface IdbDatabase {
  readonly version: number;
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(store: string, mode: "readonly" | "readwrite"): IdbTransaction;
  close(): void;
  onversionchange: (() => void) | null;
}
interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  readonly error: unknown;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface IdbObjectStore {
  get(key: string): IdbRequest<unknown>;
  put(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string): IdbRequest<unknown>;
}
interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
}

const STORE = "keys";
const RECORD = "dpop";

const isKey = (value: unknown): value is WebCryptoKey =>
  typeof value === "object" && value !== null && "type" in value && "extractable" in value;

/** A record as this file writes it, or `null` for anything else (another version's, none). */
function asPair(value: unknown): DpopKeyPair | null {
  if (typeof value !== "object" || value === null) return null;
  const { privateKey, publicKey } = value as Partial<Record<keyof DpopKeyPair, unknown>>;
  return isKey(privateKey) && isKey(publicKey) ? { privateKey, publicKey } : null;
}

/**
 * One record in the IndexedDB database `database`. Throws at once where there is no
 * IndexedDB: a key that could not be kept would change with every reload, and the session
 * bound to it would be lost with it.
 *
 * @example
 * ```ts
 * import { createSessionClient, indexedDbDpopKeys, memoryTokens } from "sessionkit/client";
 *
 * // What `dpop: true` does with the channel "myapp": the key in IndexedDB "myapp-dpop".
 * const client = createSessionClient({
 *   strategy: "hybrid",
 *   channel: "myapp",
 *   tokens: memoryTokens(),
 *   dpop: { keys: indexedDbDpopKeys("myapp-dpop") },
 * });
 * ```
 */
export function indexedDbDpopKeys(database: string): DpopKeyStorage {
  const factory = (globalThis as { indexedDB?: IdbFactory }).indexedDB;
  if (!factory || typeof factory.open !== "function") {
    throw new TypeError(
      "sessionkit/client: dpop keeps its key in IndexedDB, which is missing here " +
        "(outside a browser, pass dpop: { keys: memoryDpopKeys() })",
    );
  }
  /** The database with its store; a version up when it exists without one (made elsewhere). */
  const connect = (version?: number) =>
    new Promise<IdbDatabase>((resolve, reject) => {
      const request = factory.open(database, version);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE);
      };
      request.onsuccess = () => {
        const db = request.result;
        if (db.objectStoreNames.contains(STORE)) return resolve(db);
        db.close();
        connect(db.version + 1).then(resolve, reject);
      };
      request.onerror = () => reject(request.error);
    });
  let opened: Promise<IdbDatabase> | null = null;
  const open = (): Promise<IdbDatabase> => {
    opened ??= connect().then(
      (db) => {
        // Another tab deleting or upgrading the database must not wait for this one.
        db.onversionchange = () => {
          db.close();
          opened = null;
        };
        return db;
      },
      (error: unknown) => {
        opened = null;
        throw error;
      },
    );
    return opened;
  };

  /** One transaction; its outcome is read when it has committed, not before. */
  const transact = async <T>(
    mode: "readonly" | "readwrite",
    work: (store: IdbObjectStore) => () => T,
  ): Promise<T> => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const outcome = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(outcome());
      tx.onerror = tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    });
  };

  return {
    get: () =>
      transact("readonly", (store) => {
        const read = store.get(RECORD);
        return () => asPair(read.result);
      }),
    // Read and write in one readwrite transaction: IndexedDB runs those one at a time, so of
    // two tabs adding at once the second finds the first one's key and keeps it.
    add: (pair) =>
      transact("readwrite", (store) => {
        let kept = pair;
        const read = store.get(RECORD);
        read.onsuccess = () => {
          const existing = asPair(read.result);
          if (existing) kept = existing;
          else store.put(pair, RECORD);
        };
        return () => kept;
      }),
    clear: () =>
      transact("readwrite", (store) => {
        store.delete(RECORD);
        return () => undefined;
      }),
  };
}
