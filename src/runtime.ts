/**
 * The one runtime shim: letting the process exit while a timer is pending
 * works differently on Node (`timer.unref()`) and Deno (`Deno.unrefTimer`).
 *
 * @module
 */

/** Lets the process exit while a timer is pending (Node's `unref`, Deno's `unrefTimer`). */
export function unrefTimer(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer) {
    (timer as { unref(): void }).unref();
    return;
  }
  const deno = (globalThis as Record<string, unknown>)["Deno"] as {
    unrefTimer?: (id: number) => void;
  } | undefined;
  deno?.unrefTimer?.(timer as number);
}
