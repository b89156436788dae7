import { createClient, createCluster } from "redis";
import { configError, SessionError } from "../../errors.js";
import { within } from "../deadline.js";

/**
 * A node-redis 5 or 6 client (`createClient`) or cluster (`createCluster`), connected or not.
 * Typed by the few members the store checks rather than by node-redis's own types, so that a
 * client with modules, scripts or its own RESP and type mapping fits as it is.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  duplicate(): unknown;
  withCommandOptions(options: { abortSignal: AbortSignal; typeMapping: object }): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  off(event: "error", listener: (error: Error) => void): unknown;
}

interface Common {
  /** Key prefix. Default `"sk:"`. */
  prefix?: string;
  /**
   * The bound of every store call, connecting included: a call that has not answered by then
   * fails with STORE_UNAVAILABLE, and is never sent afterwards. Default 2000 ms.
   */
  commandTimeoutMs?: number;
}

export type RedisStoreOptions = Common &
  (
    | {
        /** `redis://host:port` for one server, or `redis-cluster://host:port,host:port` for a Cluster. */
        url: string;
        client?: undefined;
      }
    | {
        /**
         * A node-redis 5 or 6 client or cluster of yours. It stays yours: the store opens it if it
         * is not open yet, never closes it (close it after the store), and makes one connection
         * of its own from it (`duplicate()`) for the change feed, which it closes itself.
         */
        client: RedisClientLike;
        url?: undefined;
      }
  );

/**
 * What the store uses of a node-redis client or cluster (both have these; a cluster has no
 * `isReady`).
 */
export interface Commands {
  isOpen: boolean;
  /** Connected and past its handshake (a Cluster client has no such flag: undefined). */
  isReady?: boolean;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: "error", listener: (error: unknown) => void): unknown;
  on(event: "ready" | "reconnecting" | "end", listener: () => void): unknown;
  off(event: "error", listener: (error: unknown) => void): unknown;
  duplicate(): Commands;
  withCommandOptions(options: { abortSignal: AbortSignal; typeMapping: object }): Commands;
  get(key: string): Promise<string | null>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  xAdd(
    key: string,
    id: string,
    message: Record<string, string>,
    options?: unknown,
  ): Promise<unknown>;
  xRange(
    key: string,
    start: string,
    end: string,
  ): Promise<Array<{ id: string; message: Record<string, string> }>>;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  sPublish(channel: string, message: string): Promise<unknown>;
  sSubscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  ping(): Promise<unknown>;
  sendCommand(firstKey: string | undefined, isReadonly: boolean, args: string[]): Promise<unknown>;
}

/** A store call: `c` sends its commands, `late()` says whether its caller has been answered. */
export type Operation<T> = (c: Commands, late: () => boolean) => Promise<T>;

/** Runs one store call within the bound (see `redisConnection`). */
export type Guard = <T>(operation: Operation<T>) => Promise<T>;

/**
 * The store's connection: the client (made from the URL, or the caller's), whether it is a
 * Cluster, and `guard`, which runs one store call within the bound.
 */
export function redisConnection(options: RedisStoreOptions) {
  const timeout = options.commandTimeoutMs ?? 2000;
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw configError("redis: commandTimeoutMs must be a positive number of milliseconds");
  const given = options.client;
  if (given !== undefined && options.url !== undefined)
    throw configError("redis: give url or client, not both");
  if (given === undefined && typeof options.url !== "string")
    throw configError("redis: url or client is required");
  // ioredis, node-redis v4 and anything else lack per-command abort signals, without which a
  // call that answered STORE_UNAVAILABLE could still be sent once the connection is back.
  if (given !== undefined && typeof given?.withCommandOptions !== "function")
    throw configError("redis: client must be a node-redis 5 or 6 client or cluster");

  let cluster: boolean;
  let client: Commands;
  if (given !== undefined) {
    client = given as unknown as Commands;
    cluster = "masters" in given; // a getter of node-redis's cluster class only
  } else {
    const url = options.url ?? "";
    const connection = {
      // Fail fast while disconnected instead of queueing requests until the server returns.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: timeout,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
      },
    };
    cluster = url.startsWith("redis-cluster://");
    client = (cluster
      ? createCluster({
          rootNodes: url
            .slice("redis-cluster://".length)
            .split(",")
            .map((node) => ({ url: `redis://${node}` })),
          defaults: connection,
        })
      : createClient({ url, ...connection })) as unknown as Commands;
  }
  // Reported through failing calls; reconnection is the client's. Without a listener, an
  // outage would crash the process with the client's unhandled 'error' event.
  const quiet = () => {};
  client.on("error", quiet);
  // The first connection is made once and awaited by every caller (isOpen turns true before
  // the client is ready); later drops are node-redis's to reconnect.
  let connecting: Promise<unknown> | null = null;
  // A caller's client may queue commands while it is offline (node-redis's default), and send
  // them when it is back: a call reported as failed must never run then. So its commands carry
  // an abort signal, and a call that misses its deadline withdraws what is still queued. The
  // signal is shared until then (a client view per call would cost most of the throughput of
  // lookups): it withdraws the other calls' queued commands too, which is an outage's answer
  // anyway, and the calls after it get a fresh one. The store's own client queues nothing
  // (`disableOfflineQueue`) and needs none of this.
  let withdraw = given === undefined ? null : new AbortController();
  // The empty type mapping undoes one the caller's client may have (Buffers, Maps): the store
  // reads strings and arrays.
  const viewOf = (signal: AbortSignal | undefined) =>
    signal ? client.withCommandOptions({ abortSignal: signal, typeMapping: {} }) : client;
  let sender = viewOf(withdraw?.signal);

  const guard: Guard = async <T>(operation: Operation<T>): Promise<T> => {
    // node-redis retries a connection that fails its handshake (a server that accepts and
    // drops) without end, and a command sent meanwhile neither fails nor times out: every
    // call gets its own deadline, so that an outage answers STORE_UNAVAILABLE, never hangs.
    let late = false;
    let mine: AbortController | null = null;
    try {
      // An open client (the caller's, or ours still retrying a first connection that failed)
      // is used as it is: it cannot be opened twice.
      if (connecting === null && client.isOpen) connecting = Promise.resolve();
      connecting ??= client.connect().catch((error: unknown) => {
        connecting = null;
        throw error;
      });
      // A revocation reported as failed that ran later would land after the sign-ins that
      // followed it, and end them (found by the model-based soak).
      const once = connecting.then(() => {
        if (late) throw new Error("gave up before the connection was made");
        mine = withdraw;
        return operation(sender, () => late);
      });
      return await within(once, timeout, () => {
        late = true;
        if (mine === null) return;
        if (mine === withdraw) {
          withdraw = new AbortController();
          sender = viewOf(withdraw.signal);
        }
        mine.abort();
      });
    } catch (error) {
      if (error instanceof SessionError) throw error;
      const name = (error as Error)?.name ?? "";
      if (name === "ErrorReply" || name === "SimpleError") throw error; // a bug, not an outage
      throw new SessionError(
        "STORE_UNAVAILABLE",
        `redis store unavailable: ${(error as Error)?.message}`,
        { cause: error },
      );
    }
  };

  return {
    client,
    cluster,
    guard,
    /** Closes the client if the store made it; a caller's client is the caller's to close. */
    close() {
      if (given !== undefined) client.off("error", quiet);
      else if (client.isOpen) client.destroy();
    },
  };
}
