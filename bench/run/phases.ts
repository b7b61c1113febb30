/**
 * The phases around the measured rounds: the warm-up, the streaming memory
 * phases (500 open streams, two 50 MB streams) on processes that have only
 * been warmed up, the c=32 warm-up, and the memory readings after the load.
 *
 * @module
 */
import type { FrontLoad } from "./fronts.ts";
import type { Load } from "./load.ts";
import type { Options } from "./options.ts";
import { memory, sampleRss, sleep } from "./processes.ts";
import type {
  BigResult,
  BigRun,
  Failures,
  HeldResult,
  Memory,
  TargetName,
} from "./samples.ts";
import type { Servers } from "./setup.ts";

/** What every phase works with. */
export interface Bench {
  o: Options;
  load: Load;
  servers: Servers;
  failures: Failures;
  /** freerouter's chat completions, Messages and Responses routes (fronts.ts). */
  fronts: FrontLoad[];
}

/**
 * JIT, connection pools, and freerouter's cooldowns (the mock rate-limits
 * the 5 highest-priority free models).
 */
export async function warmUp({ load, servers }: Bench): Promise<void> {
  console.error(
    `bench: warming up (pool ${servers.poolSize} free models of a 300-model catalog) …`,
  );
  for (const t of servers.targets) {
    await load.wrk(t.url, 1, 1);
    await load.client(["stream", t.url, "100"]);
  }
  await load.wrk(servers.validating.url, 1, 1);
}

/** 500 concurrent open streams per target: the RSS while they are open. */
export async function openStreams(
  { load, servers, failures }: Bench,
): Promise<Record<TargetName, HeldResult>> {
  console.error("bench: 500 concurrent open streams …");
  const held: Record<TargetName, HeldResult> = {} as never;
  for (const t of servers.targets) {
    await sleep(300);
    const { opened, done, measured: rss } = await load.hold(
      t.url,
      500,
      servers.mockOrigin,
      () =>
        t.name === "floor" ? memory(servers.mock.pid).rss : memory(t.pid).rss,
    );
    if (done.complete !== 500) {
      failures[t.name].push(
        `500 open streams: ${done.complete} of 500 completed`,
      );
    }
    held[t.name] = {
      rss,
      open: opened.open,
      complete: done.complete,
      openMs: opened.open_ms,
    };
  }
  return held;
}

/**
 * Two 50 MB streams back to back per target: the first shows the warm-up
 * growth, the second whether memory keeps growing with the bytes (not flat).
 */
export async function bigStreams(
  { load, servers, failures }: Bench,
): Promise<Record<TargetName, BigResult>> {
  console.error("bench: 50 MB streams …");
  const big: Record<TargetName, BigResult> = {} as never;
  for (const t of servers.targets) {
    await sleep(300);
    const before = memory(t.pid).rss;
    const passes: { max: number; r: BigRun }[] = [];
    for (let pass = 0; pass < 2; pass++) {
      const sampler = sampleRss(t.pid);
      const r = await load.client(["big", t.url]) as BigRun;
      passes.push({ max: sampler.stop(), r });
    }
    const [one, two] = passes as [typeof passes[0], typeof passes[0]];
    const bad = passes.find(({ r }) =>
      !(r.status === 200 && r.complete && r.bytes > 50e6)
    )?.r;
    big[t.name] = {
      before,
      max: one.max,
      max2: Math.max(one.max, two.max),
      mbps: (one.r.mb_per_s + two.r.mb_per_s) / 2,
      bytes: bad?.bytes ?? one.r.bytes,
      stalled: bad?.stalled ?? false,
      ok: bad === undefined,
    };
    if (bad) {
      failures[t.name].push(
        `50 MB stream: ${bad.stalled ? "stalled" : "incomplete"} after ${
          (bad.bytes / 1e6).toFixed(2)
        } MB`,
      );
    }
  }
  return big;
}

/** Unmeasured c=32 load on every target, the validating proxy included. */
export async function warmThroughput(
  { o, load, servers }: Bench,
): Promise<void> {
  for (const t of [...servers.targets, servers.validating]) {
    await load.wrk(t.url, 32, o.quick ? 1 : 2);
  }
}

/** Peak and idle memory of each process once the rounds are over. */
export async function memoryAfterLoad({ servers }: Bench): Promise<{
  peakAfterRounds: Memory;
  idleAfter: Memory;
  peak: Memory;
}> {
  const each = (read: (pid: number) => number) =>
    Object.fromEntries(
      servers.targets.map((t) => [t.name, read(t.pid)]),
    ) as Memory;
  const peakAfterRounds = each((pid) => memory(pid).hwm);
  await sleep(1500);
  const idleAfter = each((pid) => memory(pid).rss);
  const peak = each((pid) => memory(pid).hwm);
  return { peakAfterRounds, idleAfter, peak };
}
