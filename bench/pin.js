// CPU pinning on a small machine: the server under test gets one core, the load generator
// (this process, autocannon included) another, so that neither steals the other's time.
// With taskset missing, or fewer than two cores this process may use, everything runs
// unpinned and the run says so.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const TASKSET = "/usr/bin/taskset";

/** "0-2,4" -> [0, 1, 2, 4] */
export function parseCpuList(list) {
  const cpus = [];
  for (const part of list.trim().split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus.filter((cpu) => Number.isInteger(cpu));
}

let state = null;

/**
 * Pins this process (every thread, `taskset -a`) to the load generator's core, once; later
 * calls return the same answer. `{pinned, server, loader, reason}`: the cores as taskset's
 * `-c` takes them, or why there is no pinning.
 */
export function pinLoadGenerator() {
  if (state) return state;
  const unpinned = (reason) => {
    state = { pinned: false, server: null, loader: null, reason };
    return state;
  };
  if (!existsSync(TASKSET)) return unpinned(`${TASKSET} not found`);
  let allowed;
  try {
    const out = execFileSync(TASKSET, ["-cp", String(process.pid)], { encoding: "utf8" });
    allowed = parseCpuList(out.slice(out.lastIndexOf(":") + 1));
  } catch (error) {
    return unpinned(`taskset -cp failed: ${error.message.split("\n")[0]}`);
  }
  if (allowed.length < 2) return unpinned(`only ${allowed.length} CPU available to this process`);
  const [server, loader] = allowed.map(String);
  try {
    execFileSync(TASKSET, ["-a", "-cp", loader, String(process.pid)], { stdio: "ignore" });
  } catch (error) {
    return unpinned(`taskset -a -cp ${loader} failed: ${error.message.split("\n")[0]}`);
  }
  state = { pinned: true, server, loader, reason: null, allowed: allowed.length };
  return state;
}

/** One line for the output: what runs where. */
export function describePinning(pin) {
  return pin.pinned
    ? `pinned: server under test on CPU ${pin.server}, load generator on CPU ${pin.loader} (taskset)`
    : `NOT pinned (${pin.reason}): server and load generator share the CPUs`;
}

/** Spawns `node script ...args` on the server's core (or unpinned). */
export function spawnServer(args, options = {}) {
  const pin = pinLoadGenerator();
  return pin.pinned
    ? spawn(TASKSET, ["-c", pin.server, process.execPath, ...args], options)
    : spawn(process.execPath, args, options);
}

let ticksPerSecond = null;

/** CPU seconds (user + system) a process has used so far, from /proc; null where unknown. */
export function cpuSeconds(pid) {
  try {
    if (ticksPerSecond === null) {
      try {
        ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
      } catch {
        ticksPerSecond = 100;
      }
    }
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}

/** This process's CPU seconds (all threads). */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Per-CPU busy and total time (ticks) from /proc/stat; null where unknown. */
export function coreTimes() {
  try {
    const times = {};
    for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
      const match = /^cpu(\d+) (.*)$/.exec(line);
      if (!match) continue;
      // user nice system idle iowait irq softirq steal
      const [user, nice, system, idle, iowait, irq, softirq, steal = 0] = match[2]
        .trim()
        .split(/\s+/)
        .map(Number);
      const busy = user + nice + system + irq + softirq + steal;
      times[match[1]] = { busy, total: busy + idle + iowait };
    }
    return times;
  } catch {
    return null;
  }
}

/**
 * The share of a core that was busy between two `coreTimes()` readings, less `own` (the share
 * the benchmark's own process there used): what the rest of the machine took from it.
 */
export function foreignShare(before, after, cpu, own) {
  const a = before?.[cpu];
  const b = after?.[cpu];
  if (!a || !b || b.total <= a.total || own === null) return null;
  return Math.max(0, (b.busy - a.busy) / (b.total - a.total) - own);
}
