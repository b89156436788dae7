import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry, History } from "./history.js";
import { type Backend, Instances } from "./servers.js";
import { Client, PASSWORD, seeded } from "./workload.js";

export interface RunOptions {
  backend: Backend;
  durationMs: number;
  /** Client workers; two share each user. Default 6. */
  clients?: number;
  /** "once": one restart and one cut; "cycle": a fault every 8-15 s (the long form). */
  faults?: "once" | "cycle";
  seed?: number;
  maxLagMs?: number;
  graceMs?: number;
  /** The servers' `--id-cache` in ms, 0 for off. Default 1000 (the server's default). */
  idCacheMs?: number;
  pauseMs?: number;
  log?: (line: string) => void;
}

export interface RunResult {
  history: History;
  seed: number;
  /** Lines of the servers' logs that report an error, for the report. */
  serverErrors: string[];
  exitCodes: Array<number | null>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One run: three instances on the backend, users registered, clients loading them for
 * `durationMs` while faults are injected (instance killed and started again on its port,
 * store cut and restored), then final reads of every session on every instance once the
 * store is back. The history is returned; judging it is the checker's business.
 */
export async function runHistory(options: RunOptions): Promise<RunResult> {
  const { backend, durationMs } = options;
  const log = options.log ?? (() => {});
  const seed = options.seed ?? randomBytes(4).readUInt32BE();
  const random = seeded(seed);
  const maxLagMs = options.maxLagMs ?? 1000;
  const graceMs = options.graceMs ?? 1000;
  // The reference server's default: the id strategy reads through its local cache.
  const idCacheMs = options.idCacheMs ?? 1000;
  const clientCount = options.clients ?? 6;
  const prefix = `skh_${randomBytes(4).toString("hex")}_`;
  const dir = mkdtempSync(join(tmpdir(), "sessionkit-history-"));
  const entries: Entry[] = [];
  const instances = await Instances.start(backend, dir, prefix, {
    maxLagMs,
    graceMs,
    idCacheMs,
  });
  try {
    const users = Array.from({ length: Math.ceil(clientCount / 2) }, (_, i) => `user${i}`);
    for (const username of users) {
      const a = await instances.endpoints[0]?.send("POST", "/api/users", {
        body: { username, password: PASSWORD },
      });
      if (a?.status !== 201) throw new Error(`registering ${username}: ${a?.status} ${a?.code}`);
    }
    const settings = {
      graceMs,
      probeForMs: maxLagMs + backend.feedSlackMs + 1500,
      pauseMs: options.pauseMs ?? 2,
    };
    const clients = Array.from(
      { length: clientCount },
      (_, i) =>
        new Client(
          i,
          users[i % users.length] ?? "user0",
          instances.endpoints,
          entries,
          settings,
          seed + i + 1,
        ),
    );
    log(`${backend.name}: ${clientCount} clients for ${durationMs} ms (seed ${seed})`);
    let stopping = false;
    const started = Date.now();
    const load = clients.map((c) => c.run(() => stopping));

    const restart = async (i: number, signal: NodeJS.Signals) => {
      const fault = await instances.restart(i, signal);
      entries.push(fault);
      log(
        `${backend.name}: instance ${i} ${signal}, listening again after ${Math.round(fault.end - fault.start)} ms`,
      );
      // The restarted instance, first thing: does it know what was revoked before it started?
      await Promise.all(clients.map((c) => c.probeAll(i)));
    };
    const cut = async (ms: number) => {
      const fault = await instances.cut(ms);
      if (fault) entries.push(fault);
      if (fault) log(`${backend.name}: store cut for ${Math.round(fault.end - fault.start)} ms`);
    };
    const faults: Array<Promise<void>> = [];
    if (options.faults === "cycle") {
      faults.push(
        (async () => {
          let turn = 0;
          while (Date.now() - started < durationMs - 10_000) {
            await sleep(8000 + random() * 7000);
            const instance = Math.floor(random() * 3);
            if (turn++ % 2 === 0 || !instances.proxy)
              await restart(instance, random() < 0.7 ? "SIGKILL" : "SIGTERM");
            else await cut(300 + random() * 3700);
          }
        })(),
      );
    } else {
      faults.push(sleep(durationMs * 0.25).then(() => restart(1, "SIGKILL")));
      if (instances.proxy) faults.push(sleep(durationMs * 0.5).then(() => cut(2500)));
      else log(`${backend.name}: no store cut: ${backend.noCut}`);
    }
    await sleep(durationMs);
    await Promise.all(faults);
    stopping = true;
    await Promise.all(load);
    // Final reads, once every fault is over and the store has had time to come back.
    await sleep(1000);
    await Promise.all(clients.map((c) => c.finalReads()));
    const history: History = {
      meta: {
        backend: backend.name,
        instances: 3,
        maxLagMs,
        graceMs,
        feedSlackMs: backend.feedSlackMs,
        idCacheMs,
        durationMs,
        clients: clientCount,
      },
      entries,
    };
    const exitCodes = await instances.stop();
    const serverErrors = instances.outputs
      .flatMap((output) => output().split("\n"))
      .filter((line) => /error|Error/.test(line) && !/^\s+at /.test(line));
    return { history, seed, serverErrors, exitCodes };
  } finally {
    await instances.stop().catch(() => {});
    await backend.cleanup(prefix).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}
