/**
 * The status page's renderers (script text sharing the helpers' scope): the
 * account (and an outage), the day's quota (used and remaining, the reset as
 * a countdown, the projection, what `GET /key` said), each client key's
 * usage, the pool (rank and quality score when the status has them), the
 * aliases with the models each routes over, and the recent requests (their
 * API, every attempt, continuations marked). Values are inserted as text
 * only.
 *
 * @module
 */

/** The renderers. */
export const STATUS_PAGE_RENDER: string = `
  function renderAccount(s) {
    const a = s.account || {};
    const state = a.blocked
      ? badge("bad", "blocked until " + clock(a.blocked_until))
      : badge("ok", "ok");
    const facts = el("dl", { class: "facts" },
      fact("account-state", "Account", state,
        a.blocked && (a.block_scope || a.block_reason)
          ? el("div", { class: "muted" }, [a.block_scope, a.block_reason].filter(Boolean).join(": "))
          : null),
      a.outage ? fact("account-outage", "Outage",
        a.outage.paused_until
          ? badge("bad", "no attempt to its models until " + clock(a.outage.paused_until))
          : badge("warn", "its models go after the others until " + clock(a.outage.after_others_until)),
        el("div", { class: "muted" },
          "round " + a.outage.rounds + " · " + a.outage.models.length + " models failed: " +
          a.outage.models.join(", "))) : null,
      fact("account-minute", "Requests this minute", ofLimit(a.requests_this_minute ?? 0, a.rpm_limit)),
      fact("account-day", "Requests today", ofLimit(a.requests_today ?? 0, a.daily_limit)),
      fact("limiter-waiting", "Waiting in the limiter", String((s.limiter && s.limiter.waiting) ?? 0)),
      fact("strategy", "Strategy", dash(s.strategy)),
      fact("catalog", "Catalog",
        (s.catalog ? s.catalog.size : 0) + " models",
        s.catalog && s.catalog.fetched_at
          ? el("span", { class: "muted" }, " · fetched " + clock(s.catalog.fetched_at))
          : null),
    );
    $("account-body").replaceChildren(facts);
  }

  function usageBar(used, limit) {
    if (limit === null || limit === undefined || limit <= 0) return null;
    const share = Math.min(1, used / limit);
    const kind = share >= 1 ? "bad" : share >= 0.8 ? "warn" : "";
    const fill = el("span", {});
    fill.style.width = Math.round(share * 100) + "%";
    return el("div", { class: "bar " + kind, role: "presentation" }, fill);
  }

  function projectionText(q) {
    const p = q.projection || {};
    if (q.exhausted) return "nothing left until the reset";
    if (p.rate_per_hour === null || p.rate_per_hour === undefined) return "not enough history yet";
    const rate = p.rate_per_hour + " requests/hour over the last hour";
    if (p.runs_out_at) return rate + ": runs out at " + clock(p.runs_out_at);
    if (p.lasts_until_reset) return rate + ": lasts until the reset";
    return rate;
  }

  function renderQuota(s) {
    const q = s.quota;
    $("quota").hidden = !q;
    if (!q) return;
    const used = q.used_today ?? 0;
    const p = q.projection || {};
    const k = q.key || {};
    const usedText = q.daily_limit === null || q.daily_limit === undefined
      ? used + " (limit not known yet)"
      : used + " of " + q.daily_limit;
    const left = q.remaining_today === null || q.remaining_today === undefined
      ? "—"
      : q.exhausted
      ? badge("bad", "none left")
      : String(q.remaining_today);
    const keyState = k.error
      ? badge("warn", "failed " + clock(k.failed_at) + ": " + k.error)
      : k.checked_at
      ? "checked " + clock(k.checked_at) +
        (k.is_free_tier === true ? " · free tier" : k.is_free_tier === false ? " · credits bought" : "") +
        (typeof k.usage === "number" ? " · usage $" + k.usage.toFixed(2) : "") +
        (typeof k.limit === "number" ? " of $" + k.limit.toFixed(2) : "")
      : "not read";
    const facts = el("dl", { class: "facts" },
      fact("quota-used", "Used today", usedText, usageBar(used, q.daily_limit)),
      fact("quota-remaining", "Remaining today", left),
      fact("quota-reset", "Resets (00:00 UTC) in",
        countdown(q.resets_in_seconds ?? 0, duration),
        el("span", { class: "muted" }, " · " + clock(q.resets_at))),
      fact("quota-projection", "At the last hour's rate", projectionText(q),
        p.runs_out_at
          ? el("div", { class: "muted" }, "in ",
            countdown(p.runs_out_in_seconds ?? 0, duration))
          : null),
      fact("quota-key", "OpenRouter /key", keyState),
    );
    $("quota-body").replaceChildren(facts);
  }

  function renderClients(s) {
    const clients = Array.isArray(s.clients) ? s.clients : [];
    $("clients").hidden = clients.length === 0;
    $("clients-count").textContent = clients.length ? String(clients.length) : "";
    const rows = clients.map((c) =>
      el("tr", { "data-client": c.name },
        el("td", { class: "model", "data-col": "name" }, c.name),
        el("td", { class: "num", "data-col": "today" }, ofLimit(c.requests_today ?? 0, c.requests_per_day)),
        el("td", { class: "num", "data-col": "minute" }, ofLimit(c.requests_this_minute ?? 0, c.requests_per_minute)),
        el("td", { class: "time", "data-col": "last" }, c.last_request_at ? clock(c.last_request_at) : "—"),
        el("td", { "data-col": "models" }, Array.isArray(c.models) ? c.models.join(", ") : "any"),
      )
    );
    $("clients-table").tBodies[0].replaceChildren(...rows);
  }

  function renderPool(s) {
    // In the order auto tries them (rank), as freerouter models prints them;
    // a model without a rank last.
    const byRank = (m) => typeof m.rank === "number" ? m.rank : Infinity;
    const pool = (Array.isArray(s.pool) ? s.pool.slice() : [])
      .sort((a, b) => byRank(a) - byRank(b));
    const cooling = pool.filter((m) => m.state === "cooling_down").length;
    $("pool-count").textContent = pool.length + " models" + (cooling ? ", " + cooling + " cooling down" : "");
    const rows = pool.map((m) => {
      const isCooling = m.state === "cooling_down";
      const stateCell = isCooling
        ? badge("warn", "cooling down until " + clock(m.cooldown_until))
        : badge("ok", "ready");
      const reason = isCooling
        ? [m.cooldown_kind, m.cooldown_reason].filter(Boolean).join(": ")
        : "";
      const rate = m.success_rate === null || m.success_rate === undefined
        ? "—"
        : Math.round(m.success_rate * 1000) / 10 + " %";
      const latency = m.latency_ms === null || m.latency_ms === undefined ? "—" : m.latency_ms + " ms";
      const lacks = Array.isArray(m.lacks) && m.lacks.length ? m.lacks.join(", ") : "—";
      const score = m.quality_score ?? m.quality;
      const source = m.quality_source ?? m.source;
      const quality = score === null || score === undefined
        ? "—"
        : String(score) + (source ? " (" + source + ")" : "");
      return el("tr", { "data-model": m.id, "data-state": m.state, class: m.state },
        el("td", { class: "num", "data-col": "rank" }, dash(m.rank)),
        el("td", { class: "model", "data-col": "model" }, m.id),
        el("td", { class: "num", "data-col": "quality" }, quality),
        el("td", { "data-col": "state" }, stateCell),
        el("td", { class: "err", "data-col": "reason" }, dash(reason)),
        el("td", { class: "err", "data-col": "last-error" }, dash(m.last_error)),
        el("td", { class: "num", "data-col": "success-rate" }, rate),
        el("td", { class: "num", "data-col": "latency" }, latency),
        el("td", { class: "num", "data-col": "attempts" }, String(m.attempts ?? 0)),
        el("td", { "data-col": "lacks" }, lacks),
      );
    });
    $("pool-table").tBodies[0].replaceChildren(...rows);
    $("pool-empty").hidden = pool.length > 0;
  }

  function renderAliases(s) {
    const aliases = Array.isArray(s.aliases) ? s.aliases : [];
    $("aliases").hidden = aliases.length === 0;
    $("aliases-count").textContent = aliases.length ? String(aliases.length) : "";
    const rows = aliases.map((a) => {
      const models = Array.isArray(a.models) ? a.models : [];
      return el("tr", { "data-alias": a.name },
        el("td", { class: "model", "data-col": "alias" }, a.name + (a.custom ? " (yours)" : "")),
        el("td", { "data-col": "picks" }, dash(a.description)),
        el("td", { "data-col": "models" }, models.length
          ? models.slice(0, 5).join(", ") + (models.length > 5 ? ", +" + (models.length - 5) + " more" : "")
          : "no model serves it"),
      );
    });
    $("aliases-table").tBodies[0].replaceChildren(...rows);
  }

  function attemptItem(a) {
    const classes = (a.outcome === "ok" ? "ok" : "fail") + (a.continuation ? " continuation" : "");
    return el("li", {
        class: classes,
        "data-attempt-model": a.model,
        "data-outcome": a.outcome,
        "data-continuation": a.continuation ? "true" : null,
      },
      a.continuation ? "\\u21bb continued on " : null,
      a.model + " \\u2192 ",
      el("span", { class: "outcome" }, a.outcome),
      typeof a.ms === "number" ? el("span", { class: "muted" }, " (" + Math.round(a.ms) + " ms)") : null,
    );
  }

  function renderRecent(s) {
    const recent = Array.isArray(s.recent) ? s.recent : [];
    $("recent-count").textContent = recent.length ? String(recent.length) : "";
    const rows = recent.map((r) => {
      const kind = r.status < 400 ? "ok" : r.status === 429 ? "warn" : "bad";
      const attempts = Array.isArray(r.attempts) ? r.attempts : [];
      const list = el("ol", { class: "attempts" }, ...attempts.map(attemptItem));
      return el("tr", { "data-request-id": r.id, "data-status": r.status, "data-api": r.api || null },
        el("td", { class: "time", "data-col": "time" }, clock(r.at)),
        el("td", { class: "api", "data-col": "api" }, dash(r.api)),
        el("td", { "data-col": "status" }, badge(kind, String(r.status)),
          r.error ? el("div", { class: "muted" }, r.error) : null),
        el("td", { class: "model", "data-col": "model" }, dash(r.model)),
        el("td", { "data-col": "attempts" }, attempts.length ? list : "—"),
        el("td", { class: "num", "data-col": "latency" }, Math.round(r.latency_ms ?? 0) + " ms"),
        el("td", { "data-col": "stream" }, r.stream ? "yes" : "no"),
      );
    });
    $("recent-table").tBodies[0].replaceChildren(...rows);
    $("recent-empty").hidden = recent.length > 0;
  }
`;
