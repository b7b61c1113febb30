/**
 * The accounts the routing state keeps in memory: created on first use,
 * bounded in number (idle ones are forgotten), and blocked with the limit the
 * upstream reported.
 *
 * @module
 */
import {
  type AccountBlock,
  currentCounts,
  LEARNED_RPM_MS,
  learnedAt,
  type LearnedLimits,
  mergeBlock,
  type WindowCounts,
} from "../core/account_limit.ts";

/** Accounts kept in memory before idle ones are forgotten. */
export const MAX_ACCOUNTS = 1000;

/** One OpenRouter account's state: its block, learned limits and attempt counts. */
export interface AccountState {
  /** The account block, when one holds (compare `until`). */
  block: AccountBlock | undefined;
  /** Limits learned from the upstream's `X-RateLimit-Limit`, with their validity. */
  learned: LearnedLimits;
  /** Attempt counts, as last known (the KV store holds the shared truth). */
  counts: WindowCounts | undefined;
}

/** One account's state from the map, created empty on first use (pruning idle ones when full). */
export function accountOf(
  accounts: Map<string, AccountState>,
  id: string,
  now: number,
  forget: (id: string) => void,
): AccountState {
  let account = accounts.get(id);
  if (!account) {
    if (accounts.size >= MAX_ACCOUNTS) pruneAccounts(accounts, now, forget);
    accounts.set(
      id,
      account = { block: undefined, learned: {}, counts: undefined },
    );
  }
  return account;
}

/**
 * Forgets accounts that hold nothing any more: no block, no valid learned
 * limit, no attempt in the current minute or day. With bring-your-own-key
 * every client key is an account, so this keeps their number bounded.
 */
export function pruneAccounts(
  accounts: Map<string, AccountState>,
  now: number,
  forget: (id: string) => void,
): void {
  for (const [id, account] of accounts) {
    const counts = currentCounts(account.counts, now);
    const learned = learnedAt(account.learned, now);
    if (
      (account.block === undefined || account.block.until <= now) &&
      learned.rpm === undefined && learned.rpd === undefined &&
      counts.minuteCount === 0 && counts.dayCount === 0
    ) {
      accounts.delete(id);
      forget(id);
    }
  }
}

/** Blocks an account until the reset ({@link mergeBlock}) and remembers the limit the upstream reported. */
export function applyBlock(
  account: AccountState,
  block: AccountBlock,
  limit: number | undefined,
  now: number,
): void {
  account.block = mergeBlock(account.block, block);
  if (limit !== undefined) {
    account.learned = block.scope === "day"
      ? { ...account.learned, rpd: limit, rpdUntil: block.until }
      : { ...account.learned, rpm: limit, rpmUntil: now + LEARNED_RPM_MS };
  }
}
