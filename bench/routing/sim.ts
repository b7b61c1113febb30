/**
 * The routing simulation: one day of traffic through freerouter's attempt
 * loop, in virtual time, for one strategy. The ordering is freerouter's own
 * code — `buildFreePool`, `poolFor` (the strategies and their caches, health
 * demotion), `orderCandidates` (capability fit, cooldowns, `maxAttempts`) —
 * and so are the pieces around it that change what the ordering sees:
 * `classifyFailure`, `observe` (health), `mergeCooldown`, the account
 * limiter's `admit`, conversation affinity (`Affinity`, `stickTo`: on by
 * default for every freerouter strategy, keyed by the conversation, as the
 * router keys it by its system prompt and first message), and the settings'
 * defaults. What is simulated is
 * OpenRouter (upstream.ts), the traffic (traffic.ts) and the loop itself,
 * which follows `Router.#route` step by step (admission wait bounded by
 * `maxWait`, one attempt at a time, effects applied when it ends).
 *
 * @module
 */
import { buildFreePool } from "../../src/core/free_pool.ts";
import { poolFor } from "../../src/core/aliases.ts";
import { orderCandidates } from "../../src/core/candidates.ts";
import type { Capability, RequestNeeds } from "../../src/core/capabilities.ts";
import { classifyFailure } from "../../src/core/failure.ts";
import {
  BREAKER_THRESHOLD,
  type ModelHealth,
  observe,
} from "../../src/core/health.ts";
import { type CooldownEntry, mergeCooldown } from "../../src/core/cooldown.ts";
import { admit, type WindowCounts } from "../../src/core/account_limit.ts";
import { SETTINGS } from "../../src/core/settings.ts";
import { Affinity, stickTo } from "../../src/core/affinity.ts";
import {
  hasRoom,
  learnMinuteLimit,
  type MinuteBudget,
  minuteEnd,
  spend,
} from "../../src/core/model_budget.ts";
import {
  baseOrder,
  HEALTH_MEMORY_MS,
  type Strategy,
} from "../../src/core/ranking.ts";
import { qualityScores } from "../../src/core/quality.ts";
import type { FreeModel } from "../../src/types.ts";
import { EventQueue } from "./events.ts";
import type { SimModel } from "./pool.ts";
import { prng } from "./rng.ts";
import type { Conversation, Traffic } from "./traffic.ts";
import {
  attempt,
  type BusyModel,
  type FailureCause,
  Windows,
} from "./upstream.ts";

/** A strategy under test: one of freerouter's, or a uniformly random order (what `openrouter/free` does). */
export type SimStrategy = Strategy | "random";

/** How one request ended. */
export interface RequestRecord {
  conversation: number;
  turn: number;
  /** The model that answered, or undefined. */
  model?: string;
  /** Why it got no answer: `daily_limit`, `rate_limited` (the wait for the account's minute exceeded maxWait), `all_failed`, `no_capable_model`. */
  failure?: string;
  /** Virtual epoch ms the request arrived at. */
  at: number;
  /** Virtual ms from the request to its answer (or failure). */
  ms: number;
  /** Upstream attempts it made. */
  attempts: number;
  /** The model of each attempt, in order (the answering one last). */
  tried: string[];
  /** Why each failed attempt failed, in order. */
  failedBy: FailureCause[];
}

const NEEDS: Record<Conversation["need"], Capability[]> = {
  plain: [],
  long: [],
  tools: ["tools"],
  images: ["image_input"],
};

const MAX_ATTEMPTS = SETTINGS.maxAttempts.default;
const RPM = SETTINGS.rpm.default;
const MAX_WAIT_MS = SETTINGS.maxWait.default * 1000;
const COOLDOWN_MS = SETTINGS.cooldownSeconds.default * 1000;
const REQUEST_TIMEOUT_MS = SETTINGS.requestTimeout.default * 1000;

interface AccountState {
  counts: WindowCounts | undefined;
  blockedUntil: number;
  learnedRpd?: { rpd: number; until: number };
}

/** What one simulation runs. */
export interface SimInput {
  strategy: SimStrategy;
  models: readonly SimModel[];
  traffic: Traffic;
  seed: number;
  busyModel: BusyModel;
  /**
   * Only with `quality`, and only here (freerouter has no such setting): the
   * quality order re-sorted by score − `successPenalty` × (1 − the model's
   * recent success rate), in place of its health tiers. A probe of how much
   * quality a stronger health demotion would trade for fewer attempts.
   */
  successPenalty?: number;
  /**
   * Only here: an order in place of the strategy's, given the pool and the
   * virtual clock (the informed oracles of bound.ts).
   */
  order?: (pool: readonly FreeModel[], now: number) => readonly FreeModel[];
}

/**
 * `quality`'s order with each model's score lowered by `penalty` times its
 * recent failure share (health of the last HEALTH_MEMORY_MS counts).
 */
export function penalisedOrder(
  pool: readonly FreeModel[],
  health: ReadonlyMap<string, ModelHealth>,
  now: number,
  penalty: number,
): FreeModel[] {
  const scores = qualityScores(pool, "intelligence");
  return baseOrder(pool, "quality").map((m, i) => {
    const h = health.get(m.id);
    const recent = h !== undefined && h.attempts > 0 &&
      h.lastAttemptAt + HEALTH_MEMORY_MS > now;
    const failed = recent ? 1 - h.successRate : 0;
    return { m, i, s: scores.get(m.id)!.score - penalty * failed };
  }).sort((a, b) => b.s - a.s || a.i - b.i).map((e) => e.m);
}

/** Runs one strategy over the traffic; returns every request's record. */
export function simulate(input: SimInput): RequestRecord[] {
  const { strategy, models, traffic, seed, busyModel, successPenalty } = input;
  const pool = buildFreePool(models.map((m) => m.row));
  const byId = new Map(models.map((m, i) => [m.row.id as string, { m, i }]));
  const queue = new EventQueue();
  const health = new Map<string, ModelHealth>();
  let healthVersion = 0;
  const cooldowns = new Map<string, CooldownEntry>();
  const budgets = new Map<string, MinuteBudget>();
  const accounts = traffic.accounts.map((): AccountState => ({
    counts: undefined,
    blockedUntil: 0,
  }));
  const upstreamAccounts = new Windows();
  const upstreamModels = new Windows();
  const records: RequestRecord[] = [];
  /** When each busy period's first 429 came back: a 429 of an attempt sent after that is `upstream_429_again`. */
  const busyPeriods = new Map<string, number>();
  const noAliases = new Map<string, readonly string[]>();
  // `openrouter/free` picks each request afresh; freerouter keeps a
  // conversation on its model (FREEROUTER_AFFINITY, on by default).
  const affinity = strategy === "random" ? undefined : new Affinity();
  let nextRequestId = 0;

  const order = (requestId: number, now: number): readonly FreeModel[] => {
    if (strategy === "random") {
      const rand = prng(seed * 7919 + requestId);
      const shuffled = [...pool];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      return shuffled;
    }
    if (input.order !== undefined) return input.order(pool, now);
    if (successPenalty !== undefined && strategy === "quality") {
      return penalisedOrder(pool, health, now, successPenalty);
    }
    const ranked = poolFor(pool, "auto", {
      strategy,
      aliases: noAliases,
      health,
      version: healthVersion,
      now,
    });
    if (!ranked.ok) throw new Error(ranked.message);
    return ranked.pool;
  };

  const turn = (c: Conversation, t: number) => {
    const requestId = nextRequestId++;
    const arrival = queue.now;
    const account = accounts[c.account]!;
    const rpd = traffic.accounts[c.account]!.rpd;
    const needs: RequestNeeds = {
      required: NEEDS[c.need],
      prefersReasoning: false,
      contextTokens: c.baseTokens + t * c.tokensPerTurn,
      maxTokens: undefined,
    };
    const { candidates } = orderCandidates({
      pool: order(requestId, arrival),
      requested: "auto",
      needs,
      cooldowns,
      now: arrival,
      maxAttempts: MAX_ATTEMPTS,
    });
    const key = String(c.id);
    stickTo(candidates, affinity?.get(key, arrival), cooldowns, arrival);
    let index = 0;
    const tried: string[] = [];
    const failedBy: FailureCause[] = [];
    /** The same model again after the account's minute cap. */
    let again = false;
    /** An account slot taken for a model found spent once admitted: the next attempt is sent on it. */
    let admitted = false;
    const deadline = arrival + MAX_WAIT_MS;

    const finish = (result: { model?: string; failure?: string }) => {
      records.push({
        conversation: c.id,
        turn: t,
        at: arrival,
        ...result,
        ms: queue.now - arrival,
        attempts: tried.length,
        tried,
        failedBy,
      });
      if (t + 1 < c.turns) {
        queue.at(queue.now + c.gapsMs[t]!, () => turn(c, t + 1));
      }
    };

    const step = () => {
      const now = queue.now;
      if (candidates.length === 0) {
        return finish({ failure: "no_capable_model" });
      }
      if (index >= candidates.length || tried.length >= MAX_ATTEMPTS) {
        return finish({ failure: "all_failed" });
      }
      // A model whose learned per-minute limit is spent is not sent to
      // (unless the same model is tried again after the account's minute).
      if (!again && !hasRoom(budgets.get(candidates[index]!.id), now)) {
        index++;
        return step();
      }
      // Admission (state/admission.ts): a daily block refuses at once; the
      // per-minute limiter waits for room until the request's deadline.
      if (account.blockedUntil > now) return finish({ failure: "daily_limit" });
      const learned = account.learnedRpd && account.learnedRpd.until > now
        ? account.learnedRpd.rpd
        : undefined;
      if (!admitted) {
        const slot = admit(account.counts, { rpm: RPM, rpd: learned }, now);
        if (!slot.ok) {
          if (slot.retryAt > deadline) {
            return finish({
              failure: learned !== undefined && slot.retryAt - now > 60_000
                ? "daily_limit"
                : "rate_limited",
            });
          }
          return queue.at(slot.retryAt, step);
        }
        account.counts = slot.next;
      }
      admitted = false;
      const model = candidates[index]!;
      const sim = byId.get(model.id)!;
      // state/effects.ts spendBudget: the minute's last attempt cools the model down until the next minute.
      again = false;
      if (!hasRoom(budgets.get(model.id), now)) {
        index++;
        admitted = true;
        return step();
      }
      const spent = spend(budgets.get(model.id), now);
      if (spent.budget) {
        budgets.set(model.id, spent.budget);
        if (spent.last) {
          cooldowns.set(
            model.id,
            mergeCooldown(cooldowns.get(model.id), {
              model: model.id,
              until: minuteEnd(spent.budget, now),
              reason: "limit_rpm",
            }),
          );
        }
      }
      tried.push(model.id);
      const outcome = attempt(
        {
          modelId: model.id,
          modelIndex: sim.i,
          behaviour: sim.m.behaviour,
          accountKey: String(c.account),
          accountRpd: rpd,
          requestId,
          contextTokens: needs.contextTokens,
          now,
          seed,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          busyModel,
        },
        upstreamAccounts,
        upstreamModels,
      );
      queue.at(now + outcome.ms, () => settle(model, outcome));
    };

    const settle = (model: FreeModel, outcome: ReturnType<typeof attempt>) => {
      const now = queue.now;
      if (outcome.ok) {
        health.set(
          model.id,
          observe(
            health.get(model.id),
            { ok: true, latencyMs: outcome.ms },
            now,
          ),
        );
        healthVersion++;
        affinity?.set(key, model.id, now);
        return finish({ model: model.id });
      }
      if (outcome.period === undefined) failedBy.push(outcome.cause);
      else {
        // Foretold when a 429 of the same busy period had come back before this attempt was sent.
        const met = busyPeriods.get(outcome.period);
        const sent = now - outcome.ms;
        failedBy.push(
          met !== undefined && met <= sent
            ? "upstream_429_again"
            : outcome.cause,
        );
        if (met === undefined || now < met) {
          busyPeriods.set(outcome.period, now);
        }
      }
      const verdict = classifyFailure(outcome.failure, {
        now,
        defaultCooldownMs: COOLDOWN_MS,
      });
      if (verdict.action === "return") return finish({ failure: "refused" });
      if (verdict.action === "account") {
        if (verdict.scope === "day") {
          account.blockedUntil = verdict.until;
          if (verdict.limit !== undefined) {
            account.learnedRpd = { rpd: verdict.limit, until: verdict.until };
          }
          return finish({ failure: "daily_limit" });
        }
        again = true;
        return step(); // the minute cap: wait for room, then the same model
      }
      const transient = verdict.effect?.kind === "transient";
      const h = observe(
        health.get(model.id),
        { ok: false, error: "failure", transient },
        now,
      );
      health.set(model.id, h);
      healthVersion++;
      // state/effects.ts: a 429's cooldown, or the breaker after repeated transient failures.
      if (verdict.effect?.kind === "cooldown") {
        if (verdict.effect.perMinute !== undefined) {
          budgets.set(
            model.id,
            learnMinuteLimit(
              verdict.effect.perMinute,
              now,
              verdict.effect.until,
            ),
          );
        }
        cooldowns.set(
          model.id,
          mergeCooldown(cooldowns.get(model.id), {
            model: model.id,
            until: verdict.effect.until,
            reason: "429",
          }),
        );
      } else if (transient && h.consecutiveFailures >= BREAKER_THRESHOLD) {
        cooldowns.set(
          model.id,
          mergeCooldown(cooldowns.get(model.id), {
            model: model.id,
            until: now + COOLDOWN_MS,
            reason: "breaker",
            kind: "breaker",
          }),
        );
      }
      index++;
      step();
    };

    step();
  };

  for (const c of traffic.conversations) queue.at(c.start, () => turn(c, 0));
  queue.drain();
  return records;
}
