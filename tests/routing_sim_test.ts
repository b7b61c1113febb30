/** The routing simulation's failure causes (bench/routing/sim.ts, upstream.ts). */
import assert from "node:assert/strict";
import { simulatedPool } from "../bench/routing/pool.ts";
import { simulate } from "../bench/routing/sim.ts";
import { makeTraffic } from "../bench/routing/traffic.ts";
import type { BusyModel, FailureCause } from "../bench/routing/upstream.ts";

/** One model that is busy all day (its upstream 429 share is above 1 at every hour) and never fails otherwise. */
function causesOfAlwaysBusy(busyModel: BusyModel): Map<FailureCause, number> {
  const [first] = simulatedPool();
  const models = [{
    row: first!.row,
    behaviour: { ...first!.behaviour, failRate: 0, rpmCap: 1000, busy429: 3 },
  }];
  const traffic = makeTraffic({
    seed: 1,
    conversations: 300,
    paidAccounts: 2,
    freeAccounts: 0,
  });
  const records = simulate({
    strategy: "quality",
    models,
    traffic,
    seed: 1,
    busyModel,
  });
  const counts = new Map<FailureCause, number>();
  for (const r of records) {
    for (const c of r.failedBy) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return counts;
}

Deno.test("simulate() counts the first upstream 429 of a busy period as unforeseen and the later ones in it as already met", () => {
  const counts = causesOfAlwaysBusy("periods");
  const unforeseen = counts.get("upstream_429") ?? 0;
  const again = counts.get("upstream_429_again") ?? 0;
  // 720 two-minute periods in the day: at most one unforeseen 429 each.
  assert.ok(unforeseen > 0 && unforeseen <= 720, `unforeseen ${unforeseen}`);
  assert.ok(again > 0, `again ${again}`);
});

Deno.test("simulate() counts every upstream 429 as unforeseen when each attempt draws its own", () => {
  const counts = causesOfAlwaysBusy("independent");
  assert.ok((counts.get("upstream_429") ?? 0) > 720);
  assert.equal(counts.get("upstream_429_again"), undefined);
});
