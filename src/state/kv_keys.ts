/**
 * Where freerouter's state lives in KV (every key starts with
 * `"freerouter"`), how long it is kept, how a stored value is recognised, and
 * the retry on SQLite lock contention between writers.
 *
 * @module
 */
import type { AccountBlock, LearnedLimits } from "../core/account_limit.ts";
import type { CooldownEntry } from "../core/cooldown.ts";
import { isRecord } from "../core/records.ts";

export const ROOT = "freerouter";
export const REV = [ROOT, "rev"] as const;
export const COOLDOWN = [ROOT, "cooldown"] as const;
export const GAP = [ROOT, "gap"] as const;
export const HEALTH = [ROOT, "health"] as const;
export const ACCOUNT = [ROOT, "account"] as const;
export const accountBlock = (id: string) =>
  [ROOT, "account", id, "block"] as const;
export const accountLimits = (id: string) =>
  [ROOT, "account", id, "limits"] as const;
export const accountCounts = (id: string) =>
  [ROOT, "account", id, "counts"] as const;
export const CATALOG_META = [ROOT, "catalog", "meta"] as const;
export const catalogPart = (i: number) => [ROOT, "catalog", "part", i] as const;
/** Characters per catalog part: well under KV's 64 KiB value limit even for multi-byte text. */
export const PART_CHARS = 16_000;
/** Entries live this much longer than what they describe, then KV drops them. */
export const GC_MARGIN_MS = 60_000;
/** Health entries are dropped after a week without attempts. */
export const HEALTH_TTL_MS = 7 * 86_400_000;

export function isCooldownEntry(value: unknown): value is CooldownEntry {
  const v = value as CooldownEntry;
  return typeof v === "object" && v !== null && typeof v.model === "string" &&
    typeof v.until === "number" && typeof v.reason === "string";
}

export function isStoredModel(value: unknown): boolean {
  const m = value as Record<string, unknown>;
  return typeof m === "object" && m !== null && typeof m.id === "string" &&
    typeof m.context_length === "number" && Array.isArray(m.input_modalities) &&
    (m.supported_parameters === null || Array.isArray(m.supported_parameters));
}

export function isBlock(value: unknown): value is AccountBlock {
  const v = value as AccountBlock;
  return typeof v === "object" && v !== null &&
    (v.scope === "day" || v.scope === "minute") &&
    typeof v.until === "number";
}

/** Whether a stored value can be an account's learned limits. */
export function isLearned(value: unknown): value is LearnedLimits {
  return isRecord(value);
}

/** One account's shared state, as stored. */
export interface StoredAccount {
  block: AccountBlock | undefined;
  limits: LearnedLimits;
}

/** The state other instances share, as last read from KV. */
export interface SharedState {
  cooldowns: CooldownEntry[];
  gaps: Map<string, string[]>;
  /** By account fingerprint. */
  accounts: Map<string, StoredAccount>;
}
