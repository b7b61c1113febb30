/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof`): the functions
 * with the most self time and the most inclusive time, as shares of the
 * profile. `deno run --allow-read bench/cpuprofile.ts FILE [N]`.
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The parts of a V8 CPU profile this reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function label(frame: CallFrame): string {
  const file = frame.url.replace(/^.*\//, "");
  const name = frame.functionName || "(anonymous)";
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

/** Top `n` functions by self and by inclusive time, as text. */
export function summariseProfile(profile: CpuProfile, n = 30): string {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfByNode = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idle = 0;
  for (const [id, dt] of selfByNode) {
    const key = label(nodes.get(id)!.callFrame);
    if (key === "(idle)") idle += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined;) {
      const k = label(nodes.get(cur)!.callFrame);
      if (!seen.has(k)) {
        seen.add(k);
        inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
      }
      cur = parent.get(cur);
    }
  }
  const busy = total - idle;
  const table = (m: Map<string, number>, title: string) => {
    const rows = [...m].filter(([k]) => k !== "(idle)" && k !== "(root)")
      .sort((a, b) => b[1] - a[1]).slice(0, n)
      .map(([k, t]) => `${(100 * t / busy).toFixed(1).padStart(6)} %  ${k}`);
    return [`${title}`, ...rows].join("\n");
  };
  return [
    `Profile: ${(total / 1e3).toFixed(0)} ms, of which busy ${
      (busy / 1e3).toFixed(0)
    } ms (shares below are of busy time)`,
    "",
    table(self, "Self time:"),
    "",
    table(inclusive, "Inclusive time:"),
  ].join("\n");
}

if (import.meta.main) {
  const [file, n] = Deno.args;
  if (!file) throw new Error("usage: cpuprofile.ts FILE [N]");
  const profile = JSON.parse(await Deno.readTextFile(file)) as CpuProfile;
  console.log(summariseProfile(profile, Number(n ?? 30)));
}
