/**
 * freerouter's version (kept equal to deno.json's by a test).
 *
 * @module
 */

/** The version. */
export const VERSION = "0.1.0";
