/**
 * The access-key comparison's timing: `deno bench bench/key_compare_bench.ts`.
 *
 * `timingSafeEqual` (src/http/auth.ts) must take the same time whether two
 * keys of one length first differ in their first byte or in their last; an
 * early-exit comparison would make the first row much faster than the
 * others. Flat 1 MiB strings (decoded from bytes) make any difference show.
 * The test of the same property, without timing, is in
 * tests/fault_injection/security_test.ts (it records every byte read).
 *
 * @module
 */
import { timingSafeEqual } from "../src/http/auth.ts";

const SIZE = 1024 * 1024;
const decoder = new TextDecoder();
const base = new Uint8Array(SIZE).fill(0x61);
const key = decoder.decode(base);
const firstDiffers = decoder.decode(base.slice().fill(0x62, 0, 1));
const lastDiffers = decoder.decode(base.slice().fill(0x62, SIZE - 1));
const equal = decoder.decode(base.slice());

Deno.bench("timingSafeEqual 1 MiB, keys differ in the first byte", {
  group: "timingSafeEqual",
  baseline: true,
}, () => {
  timingSafeEqual(firstDiffers, key);
});

Deno.bench("timingSafeEqual 1 MiB, keys differ in the last byte", {
  group: "timingSafeEqual",
}, () => {
  timingSafeEqual(lastDiffers, key);
});

Deno.bench("timingSafeEqual 1 MiB, keys are equal", {
  group: "timingSafeEqual",
}, () => {
  timingSafeEqual(equal, key);
});
