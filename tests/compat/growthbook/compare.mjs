// Compares recs::core::Assign (the recs_gb_assign tool) with the GrowthBook JS SDK's own
// GrowthBook#run, on 5,000 ids generated from a fixed seed times several experiment configs.
//
// Usage: node compare.mjs path/to/recs_gb_assign path/to/npm-prefix [expected-version]
//   (tests/compat/growthbook/run.sh installs the SDK into the prefix and runs this).
//
// The SDK does not export hash/getBucketRanges/chooseVariation/inNamespace, so every answer comes
// from the public API: `new GrowthBook({attributes: {id}}).run({key, variations, weights,
// coverage, hashVersion: 2, namespace, seed})`, compared field by field with the tool's line:
//   inExperiment == in_experiment, variationId == variation (0 when not in the experiment),
//   bucket == hash exactly when the SDK reports it (only in the experiment), and, for every
//   non-empty id, hash == the bucket of a probe run (same seed, coverage 1, no namespace).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [toolPath, prefix, wantVersion] = process.argv.slice(2);
if (!toolPath || !prefix) {
  console.error("usage: node compare.mjs path/to/recs_gb_assign path/to/npm-prefix [version]");
  process.exit(2);
}

// The SDK logs invalid weights and coverage (some configs are so on purpose) unless NODE_ENV is
// "production"; anything it still sends to console.error is counted, not printed.
process.env.NODE_ENV = "production";
let sdkConsoleErrors = 0;
const consoleError = console.error;

const require = createRequire(path.join(path.resolve(prefix), "package.json"));
const pkgJsonPath = require.resolve("@growthbook/growthbook/package.json");
const pkg = JSON.parse(readFileSync(pkgJsonPath, "utf8"));
if (wantVersion && pkg.version !== wantVersion) {
  console.error(`growthbook compat: @growthbook/growthbook is ${pkg.version}, want ${wantVersion}`);
  process.exit(2);
}
const esmEntry = pkg.exports["."].import.default ?? pkg.exports["."].import;
const { GrowthBook } = await import(
  pathToFileURL(path.join(path.dirname(pkgJsonPath), esmEntry)).href
);

// --- ids -------------------------------------------------------------------------------------

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20240611);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // [lo, hi]
const pick = (arr) => arr[randInt(0, arr.length - 1)];
const fromRanges = (ranges) => () => String.fromCodePoint(randInt(...pick(ranges)));

const ascii = fromRanges([[0x20, 0x7e]]);
const alnum = () => pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
const latin1 = fromRanges([[0xa0, 0xff], [0x61, 0x7a]]);
const cjk = fromRanges([[0x4e00, 0x9fff], [0x3040, 0x30ff], [0xac00, 0xd7a3]]);
const emoji = () =>
  pick([
    fromRanges([[0x1f300, 0x1faff]]), // pictographs: surrogate pairs
    fromRanges([[0x2600, 0x27bf]]), // BMP symbols and dingbats
    () => "\u200d", // zero-width joiner
    () => "\ufe0f", // variation selector 16
    fromRanges([[0x1f3fb, 0x1f3ff]]), // skin tones
  ])();
const astral = fromRanges([[0x10000, 0x10ffff]]);
// Any scalar value: the BMP without the surrogates, and the astral planes.
const anyChar = fromRanges([[0x0, 0xd7ff], [0xe000, 0xffff], [0x10000, 0x10ffff]]);
const word = (gen, lo, hi) => Array.from({ length: randInt(lo, hi) }, gen).join("");

const edgeIds = [
  "0", "", " ", "00", "1", "-1", "123", "null", "undefined", "false", "NaN", "\u0000",
  "a\u0000b", "\t", "\n", "é", "e\u0301", "É", "ü", "ß", "ÿ", "\u00a0", "日本", "日本語ユーザー",
  "😀", "👨‍👩‍👧‍👦", "🇯🇵", "a😀b", "\u0080", "\u07ff", "\u0800", "\ud7ff", "\ue000",
  "\ufffd", "\ufeff", "\uffff", "\u{10000}", "\u{10ffff}", "user-1", "USER-1",
  "00000000-0000-0000-0000-000000000000", "x".repeat(1000), "é".repeat(500), "😀".repeat(300),
  "日".repeat(2000),
];
const generators = [
  () => word(ascii, 1, 40),
  () => word(alnum, 1, 24),
  () => String(randInt(0, 2 ** 31)),
  () => word(latin1, 1, 20),
  () => word(cjk, 1, 12),
  () => word(emoji, 1, 8),
  () => word(astral, 1, 6),
  () => word(anyChar, 1, 16),
  () => word(() => pick([ascii, latin1, cjk, emoji, astral])(), 2, 24),
  () => word(anyChar, 200, 2000),
];
const N_IDS = 5000;
const ids = [...new Set(edgeIds)];
const seen = new Set(ids);
for (let i = 0; ids.length < N_IDS; i++) {
  const id = generators[i % generators.length]();
  if (!seen.has(id)) ids.push(id), seen.add(id); // 5,000 distinct ids
}

// --- configs ---------------------------------------------------------------------------------

const configs = [
  { name: "2 equal", key: "exp-two", seed: "exp-two-seed", variations: 2 },
  { name: "3 uneven", key: "exp-three", seed: "s3", variations: 3, weights: [0.2, 0.3, 0.5] },
  { name: "2 uneven cov 0.4", key: "exp-cov", seed: "cov", variations: 2, weights: [0.1, 0.9],
    coverage: 0.4 },
  { name: "3 cov 0.4 ns", key: "exp-ns", seed: "ns-seed", variations: 3,
    weights: [0.5, 0.25, 0.25], coverage: 0.4, namespace: ["checkout", 0.2, 0.7] },
  { name: "2 non-ASCII seed and ns", key: "exp-日本", seed: "séed-🚀", variations: 2,
    namespace: ["名前空間-😀", 0, 0.5] },
  { name: "4 no seed (key)", key: "exp-key-only", variations: 4 },
  { name: "weights sum 1.3 -> equal, coverage 1.5 -> 1", key: "exp-bad", seed: "bad",
    variations: 2, weights: [0.7, 0.6], coverage: 1.5 },
  { name: "weights sum 0.9999, coverage 0.3333", key: "exp-edge", seed: "edge", variations: 2,
    weights: [0.4, 0.5999], coverage: 0.3333 },
  { name: "negative coverage", key: "exp-neg", seed: "neg", variations: 2, coverage: -0.2 },
  { name: "zero-weight variation", key: "exp-zero", seed: "zero", variations: 3,
    weights: [0.5, 0, 0.5] },
  { name: "thirds, float sums", key: "exp-thirds", seed: "thirds", variations: 3,
    weights: [0.1 + 0.2, 0.3, 1 - 0.1 - 0.2 - 0.3], coverage: 0.7 },
];

// One config per id with random parameters: 2..5 variations, weights near or far from summing
// to 1, coverage in [-0.2, 1.2], a namespace half of the time.
function randomConfig() {
  const n = randInt(2, 5);
  let weights;
  if (rand() < 0.2) {
    weights = undefined;
  } else {
    const raw = Array.from({ length: n }, () => rand());
    const total = raw.reduce((a, b) => a + b, 0);
    const scale = rand() < 0.8 ? 1 : 0.97 + rand() * 0.06; // sums around [0.97, 1.03]
    weights = raw.map((w) => (w / total) * scale);
  }
  const coverage = rand() < 0.3 ? 1 : -0.2 + rand() * 1.4;
  const start = rand();
  const namespace =
    rand() < 0.5 ? [`ns-${randInt(0, 9)}`, start, start + rand() * (1 - start)] : undefined;
  const key = `rnd-${randInt(0, 99)}`;
  const seed = rand() < 0.5 ? undefined : `rs-${randInt(0, 99)}`;
  return { name: "random", key, seed, variations: n, weights, coverage, namespace };
}

// --- the SDK's answers -----------------------------------------------------------------------

console.error = () => { sdkConsoleErrors++; };
const jobs = []; // {id, cfg, js, probe}
for (const id of ids) {
  const gb = new GrowthBook({ attributes: { id } });
  const probes = new Map();
  const probeBucket = (seed) => {
    if (!probes.has(seed)) {
      const r = gb.run({ key: "probe", seed, variations: [0, 1], hashVersion: 2 });
      probes.set(seed, r.inExperiment ? r.bucket : undefined);
    }
    return probes.get(seed);
  };
  for (const cfg of [...configs, randomConfig()]) {
    const exp = { key: cfg.key, variations: Array.from({ length: cfg.variations }, (_, i) => i),
      hashVersion: 2 };
    for (const k of ["seed", "weights", "coverage", "namespace"]) {
      if (cfg[k] !== undefined) exp[k] = cfg[k];
    }
    const r = gb.run(exp);
    const seed = cfg.seed || cfg.key;
    jobs.push({ id, cfg, seed,
      js: { inExperiment: r.inExperiment, variationId: r.variationId, bucket: r.bucket },
      probe: probeBucket(seed) });
  }
  gb.destroy();
}
console.error = consoleError;

// --- ours ------------------------------------------------------------------------------------

const input = jobs.map(({ id, cfg, seed }) => {
  const weights = cfg.weights ?? Array(cfg.variations).fill(1 / cfg.variations);
  const line = { seed, unit_id: id, weights };
  if (cfg.coverage !== undefined) line.coverage = cfg.coverage;
  if (cfg.namespace !== undefined) line.namespace = cfg.namespace;
  return JSON.stringify(line);
}).join("\n") + "\n";
const out = execFileSync(toolPath, [], { input, maxBuffer: 1 << 30, encoding: "utf8" })
  .split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
if (out.length !== jobs.length) {
  console.error(`growthbook compat: ${jobs.length} lines in, ${out.length} out`);
  process.exit(1);
}

const mismatches = [];
jobs.forEach((job, i) => {
  const ours = out[i];
  const why = [];
  if (ours.error !== undefined) why.push(`tool error: ${ours.error}`);
  if (ours.in_experiment !== job.js.inExperiment) why.push("inExperiment");
  if (ours.variation !== job.js.variationId) why.push("variationId");
  if (job.js.bucket !== undefined && ours.hash !== job.js.bucket) why.push("bucket");
  if (job.id !== "" && ours.hash !== job.probe) why.push("hash (probe)");
  if (why.length) mismatches.push({ job, ours, why });
});

const nConfigs = configs.length + 1;
if (mismatches.length) {
  console.log(`growthbook compat: ${mismatches.length} mismatches of ${jobs.length}, the first 10:`);
  for (const { job, ours, why } of mismatches.slice(0, 10)) {
    console.log(JSON.stringify({ differ: why, id: job.id, config: job.cfg, seed: job.seed,
      js: { ...job.js, probeBucket: job.probe }, cpp: ours }));
  }
  process.exit(1);
}
const inExp = jobs.filter((j) => j.js.inExperiment).length;
console.log(`growthbook compat: ${ids.length} ids x ${nConfigs} configs, 0 mismatches ` +
  `(@growthbook/growthbook ${pkg.version}; ${jobs.length} runs, ${inExp} in an experiment; ` +
  `${sdkConsoleErrors} console.error calls from the SDK)`);
