import { join } from "node:path";
import { deleteRedisKeys, dropPostgresTables, POSTGRES_URL } from "../../helpers/backends.js";
import { tcpProxy } from "../../helpers/proxy.js";
import { CLI, type ServerProcess, startNodeProcess } from "../../helpers/server.js";
import type { Fault } from "./history.js";
import { now } from "./history.js";
import { Endpoint } from "./http.js";

export const ORIGIN = "https://app.example";

export interface Backend {
  name: "redis" | "cluster" | "postgres";
  /** The service a TCP proxy fronts so that the run can cut it; null when it cannot be cut. */
  target: number | null;
  /** Why this backend is run without a cut, when it is. */
  noCut?: string;
  /** The `--store` value, given the port to reach the store on (the proxy's, when cut). */
  storeUrl(port: number | null): string;
  /**
   * How long the feed may go unread before the server's lag starts counting: PostgreSQL's
   * listener and the single-node Redis store count from the moment their connection drops;
   * in a Cluster the Redis store sees no connection events and counts lag only past its
   * once-a-second log read.
   */
  feedSlackMs: number;
  cleanup(prefix: string): Promise<void>;
}

const clusterNodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;

export const BACKENDS: Record<Backend["name"], Backend> = {
  redis: {
    name: "redis",
    target: 6379,
    storeUrl: (port) => `redis://127.0.0.1:${port ?? 6379}`,
    feedSlackMs: 0,
    async cleanup(prefix) {
      await deleteRedisKeys(prefix);
      await dropPostgresTables(prefix); // the users
    },
  },
  postgres: {
    name: "postgres",
    target: 5432,
    storeUrl: (port) => `postgres://postgres@127.0.0.1:${port ?? 5432}/test`,
    feedSlackMs: 0,
    cleanup: (prefix) => dropPostgresTables(prefix),
  },
  cluster: {
    name: "cluster",
    target: null,
    // Cluster nodes tell clients their own addresses (CLUSTER SLOTS), so a proxy in front of
    // one node cannot stand between the servers and the cluster; cutting it would mean
    // reconfiguring the nodes that other tests share.
    noCut: "a TCP proxy cannot cut a Redis Cluster: its nodes announce their own addresses",
    storeUrl: () => `redis-cluster://${clusterNodes ?? ""}`,
    feedSlackMs: 1000,
    // Keys of the cluster run expire by TTL; the cluster itself is thrown away by .ci/run.
    cleanup: (prefix) => dropPostgresTables(prefix),
  },
};

export const clusterConfigured = () => Boolean(clusterNodes);

export interface ServerSettings {
  maxLagMs: number;
  graceMs: number;
  idCacheMs: number;
}

/**
 * Three reference-server processes (the built CLI) on one shared store, behind a TCP proxy
 * when the store can be cut; users in PostgreSQL under the run's table prefix, one key file,
 * one public origin. Instances can be killed and started again on the same port.
 */
export class Instances {
  readonly endpoints: Endpoint[] = [];
  readonly processes: ServerProcess[] = [];
  /** Every process's output, restarted ones included, for the report. */
  readonly outputs: Array<() => string> = [];
  readonly #argv: (port: number) => string[];
  readonly #env: Record<string, string>;
  #stopped = false;

  private constructor(
    readonly dir: string,
    readonly prefix: string,
    readonly proxy: Awaited<ReturnType<typeof tcpProxy>> | null,
    backend: Backend,
    settings: ServerSettings,
  ) {
    const store = backend.storeUrl(proxy?.port ?? null);
    this.#argv = (port) => [
      CLI,
      "serve",
      ...["--port", String(port), "--host", "127.0.0.1"],
      ...["--database", POSTGRES_URL, "--store", store, "--keys", join(dir, "keys.json")],
      ...["--origin", ORIGIN, "--max-lag", `${settings.maxLagMs}ms`],
      ...["--refresh-grace", `${settings.graceMs}ms`],
      ...["--id-cache", settings.idCacheMs > 0 ? `${settings.idCacheMs}ms` : "off"],
    ];
    this.#env = { SESSIONKIT_SCRYPT_LOG2N: "10", SESSIONKIT_TABLE_PREFIX: prefix };
  }

  static async start(backend: Backend, dir: string, prefix: string, settings: ServerSettings) {
    const proxy = backend.target === null ? null : await tcpProxy(backend.target);
    const set = new Instances(dir, prefix, proxy, backend, settings);
    // The first start writes the key file and the schema; the others share them.
    await set.#spawn(0, 0);
    await Promise.all([1, 2].map((i) => set.#spawn(i, 0)));
    return set;
  }

  async #spawn(i: number, port: number): Promise<void> {
    const server = await startNodeProcess(this.#argv(port), { cwd: this.dir, env: this.#env });
    this.processes[i] = server;
    this.outputs.push(server.output);
    const endpoint = this.endpoints[i];
    if (endpoint) endpoint.renew(server.url);
    else this.endpoints[i] = new Endpoint(server.url, ORIGIN);
  }

  /** Kills instance `i` (SIGKILL by default) and starts it again on the same port. */
  async restart(i: number, signal: NodeJS.Signals = "SIGKILL"): Promise<Fault> {
    const server = this.processes[i];
    if (!server) throw new Error(`no instance ${i}`);
    const port = Number(new URL(server.url).port);
    const start = now();
    await new Promise<void>((resolve) => {
      if (server.child.exitCode !== null || server.child.signalCode !== null) return resolve();
      // A graceful stop that hangs is no restart: after 5 s it is a kill.
      const kill = setTimeout(() => server.child.kill("SIGKILL"), 5000);
      server.child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      server.child.kill(signal);
    });
    // The port is free once the process is gone; retry in case the kernel is slow to agree.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#spawn(i, port);
        break;
      } catch (error) {
        if (attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return { type: "fault", kind: "kill", instance: i, start, end: now() };
  }

  /** Drops every store connection and refuses new ones for `ms`, then lets them back. */
  async cut(ms: number): Promise<Fault | null> {
    if (!this.proxy) return null;
    const start = now();
    this.proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.proxy.restore();
    return { type: "fault", kind: "cut", start, end: now() };
  }

  /** Stops every instance (SIGTERM); returns their exit codes. */
  async stop(): Promise<Array<number | null>> {
    if (this.#stopped) return [];
    this.#stopped = true;
    const codes = await Promise.all(
      this.processes.map((p) => (p.child.signalCode !== null ? null : p.stop())),
    );
    for (const e of this.endpoints) e.close();
    await this.proxy?.close();
    return codes;
  }
}
