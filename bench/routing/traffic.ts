/**
 * The simulated traffic: one day of conversations of 1–20 turns from the
 * accounts (keys) of a shared proxy, with mixed needs, drawn from a seed.
 * Every strategy replays the same traffic.
 *
 * @module
 */
import { between, prng } from "./rng.ts";

/** What a conversation needs from a model. */
export type Need = "plain" | "tools" | "long" | "images";

/** One conversation. */
export interface Conversation {
  id: number;
  /** Index of the account (OpenRouter key) it runs under. */
  account: number;
  need: Need;
  /** Virtual ms of its first request. */
  start: number;
  turns: number;
  /** Prompt tokens of turn 0, and what each turn adds. */
  baseTokens: number;
  tokensPerTurn: number;
  /** Pause after an answer (or a failure) before the next turn, ms, per turn. */
  gapsMs: number[];
}

/** One account: its daily free-model limit (50 without credits, 1000 with). */
export interface Account {
  id: number;
  rpd: number;
}

/** The traffic of one simulated day. */
export interface Traffic {
  accounts: Account[];
  conversations: Conversation[];
}

/** Parameters of {@link makeTraffic}. */
export interface TrafficOptions {
  seed: number;
  conversations: number;
  /** Accounts with 1,000 requests a day. */
  paidAccounts: number;
  /** Accounts with 50 requests a day. */
  freeAccounts: number;
}

export const DAY_MS = 86_400_000;
/**
 * The simulated day starts at a real UTC midnight: reset hints are epoch ms,
 * and freerouter reads small values as seconds from now.
 */
export const DAY_START = Date.UTC(2026, 10, 24);

const MIX: Array<[Need, number]> = [
  ["plain", 0.4],
  ["tools", 0.35],
  ["long", 0.15],
  ["images", 0.1],
];

/** Seconds of pause between turns, by need: agents loop fast, people read and type. */
const GAP_S: Record<Need, [number, number]> = {
  plain: [15, 120],
  tools: [2, 15],
  long: [30, 180],
  images: [20, 90],
};

/** Relative traffic by UTC hour: quiet at night, peak in the afternoon and evening. */
export function diurnal(hour: number): number {
  return 0.35 + 0.65 * Math.exp(-(((hour - 16) / 5) ** 2));
}

/** Draws a day of traffic from a seed. */
export function makeTraffic(options: TrafficOptions): Traffic {
  const rand = prng(options.seed);
  const n = options.paidAccounts + options.freeAccounts;
  // Free accounts are spread among the paid ones (light and heavy users alike).
  const step = Math.max(1, Math.floor(n / Math.max(1, options.freeAccounts)));
  const free = new Set(
    Array.from({ length: options.freeAccounts }, (_, i) => (1 + i * step) % n),
  );
  const accounts: Account[] = Array.from({ length: n }, (_, id) => ({
    id,
    rpd: free.has(id) ? 50 : 1000,
  }));
  // Heavier and lighter users: weight 1/sqrt(rank).
  const weights = accounts.map((_, i) => 1 / Math.sqrt(i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const pickAccount = () => {
    let u = rand() * total;
    for (let i = 0; i < n; i++) {
      u -= weights[i]!;
      if (u <= 0) return i;
    }
    return n - 1;
  };
  const conversations: Conversation[] = [];
  for (let id = 0; id < options.conversations; id++) {
    let start: number;
    do {
      start = rand() * 22 * 3_600_000; // ends before midnight: one UTC day
    } while (rand() > diurnal(start / 3_600_000));
    start += DAY_START;
    let u = rand();
    let need: Need = "plain";
    for (const [kind, share] of MIX) {
      if ((u -= share) <= 0) {
        need = kind;
        break;
      }
    }
    const turns = between(rand(), 1, 20);
    const [lo, hi] = GAP_S[need];
    const gapsMs = Array.from(
      { length: turns },
      () => (lo + rand() * (hi - lo)) * 1000,
    );
    const [baseTokens, tokensPerTurn] = need === "tools"
      ? [3_000 + rand() * 5_000, 2_500]
      : need === "long"
      ? [40_000 + rand() * 140_000, 2_000]
      : need === "images"
      ? [1_500, 500]
      : [800, 600];
    conversations.push({
      id,
      account: pickAccount(),
      need,
      start,
      turns,
      baseTokens: Math.round(baseTokens),
      tokensPerTurn,
      gapsMs,
    });
  }
  conversations.sort((a, b) => a.start - b.start || a.id - b.id);
  return { accounts, conversations };
}
