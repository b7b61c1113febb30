/**
 * Helpers of the quota suites (quota_test.ts, quota_limiter_test.ts): a
 * three-model catalog and a rig whose waits move the manual clock.
 *
 * @module
 */
import { manualClock, rig, type RigOptions } from "./_harness.ts";
import { catalogRow, errorStatus } from "./fake_openrouter/mod.ts";

/** The three models of the quota catalog, in pool order. */
export const A = "alpha/one:free";
export const B = "beta/two:free";
export const C = "gamma/three:free";
/** Parameters every row of the quota catalog supports. */
const TOOLS = ["tools", "tool_choice", "max_tokens", "temperature"];
/** The quota catalog: A, B and C, all with tools. */
export const catalog = () => [
  catalogRow({ id: A, context_length: 300_000, supported_parameters: TOOLS }),
  catalogRow({ id: B, context_length: 200_000, supported_parameters: TOOLS }),
  catalogRow({ id: C, context_length: 100_000, supported_parameters: TOOLS }),
];
/** A request extra with one tool. */
export const weather = {
  tools: [{
    type: "function",
    function: {
      name: "weather",
      parameters: { type: "object", properties: {} },
    },
  }],
};

/** A rig whose waits move the manual clock instead of sleeping, and which records them. */
export function quotaRig(options: RigOptions = {}) {
  const clock = options.clock ?? manualClock();
  const sleeps: number[] = [];
  const r = rig({
    fakeOptions: { models: catalog() },
    clock,
    sleep: (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
      return Promise.resolve();
    },
    ...options,
  });
  return Object.assign(r, { sleeps });
}

/** The models the fake was asked for, in order. */
export const models = (r: ReturnType<typeof rig>) =>
  r.fake.chatRequests().map((q) => q.model);

/** The handler's `/v1/freerouter/status` report. */
export async function status(r: ReturnType<typeof rig>) {
  return await (await r.request("/v1/freerouter/status")).json() as {
    account: Record<string, unknown>;
    limiter: { waiting: number };
    pool: Array<Record<string, unknown>>;
  };
}

/**
 * Scripts the round of an outage of the quota catalog: A and B fail with a
 * 503 at once, C once `releaseC()` is called (`arrivedC` resolves when C's
 * attempt arrives, the round's last).
 */
export function scriptOutageRound(r: ReturnType<typeof rig>) {
  const arrived = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  r.fake.script(A, errorStatus(503));
  r.fake.script(B, errorStatus(503));
  r.fake.script(C, {
    ...errorStatus(503),
    gate: async () => {
      arrived.resolve();
      await release.promise;
    },
  });
  return { arrivedC: arrived.promise, releaseC: () => release.resolve() };
}
