/**
 * `deno task bench --profile`: freerouter runs under `--cpu-prof`, so its
 * figures would be skewed; this measures nothing else, and prints the hot
 * spots of the profile it saves under bench/.profiles/.
 *
 * @module
 */
import { summariseProfile } from "../cpuprofile.ts";
import { BENCH_DIR, REPO } from "./options.ts";
import type { Bench } from "./phases.ts";
import { type Server, stop } from "./processes.ts";

/** Loads freerouter (c=1, c=32, streams), stops `running`, and summarises the profile. */
export async function profile(
  { o, load, servers }: Bench,
  running: Server[],
): Promise<void> {
  console.error("bench: profiling freerouter (c=1, c=32, streams) …");
  const url = servers.targets[2]!.url;
  const seq = await load.wrk(url, 1, o.seconds);
  const c32 = await load.wrk(url, 32, o.seconds);
  await load.client(["stream", url, "300"]);
  for (const server of running.splice(0)) await stop(server);
  for (const f of Deno.readDirSync(servers.profileDir)) {
    if (!f.name.endsWith(".cpuprofile")) continue;
    await Deno.mkdir(`${BENCH_DIR}.profiles`, { recursive: true });
    const saved = `${BENCH_DIR}.profiles/freerouter-${Date.now()}.cpuprofile`;
    await Deno.copyFile(`${servers.profileDir}/${f.name}`, saved);
    console.log(
      `Under --cpu-prof: c=1 p50 ${seq.p50_us} µs, c=32 ${
        Math.round(c32.requests / (c32.duration_us / 1e6))
      } req/s\n`,
    );
    console.log(
      summariseProfile(JSON.parse(await Deno.readTextFile(saved)), 30),
    );
    console.log(
      `profile saved to ${
        saved.replace(`${REPO}/`, "")
      } (open it in Chrome DevTools)`,
    );
  }
}
