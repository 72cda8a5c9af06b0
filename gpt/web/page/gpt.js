// The model in this browser. ONNX Runtime Web runs the exported forward pass (model.onnx, built
// by gpt/web/graph.py from the checkpoint's own weights); this file only feeds it characters and
// turns its logits into text, following gpt/generation.py rule for rule: the same prefill, the
// same re-prefill of half a block when the cache is full, the same temperature, top-k and top-p.
import * as ort from "./vendor/onnxruntime-web/ort.wasm.min.mjs";

// A static host sends no cross-origin isolation headers, so WebAssembly threads are not
// available: one thread, and no worker proxy, on every host alike.
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmPaths = new URL("./vendor/onnxruntime-web/", import.meta.url).href;

export const MAX_TEMPERATURE = 2;
export const MAX_SEED = 2n ** 63n - 1n;

/** Load model.json (the vocabulary and the run's facts) and model.onnx from `base`. */
export async function loadModel(base = ".") {
  const response = await fetch(`${base}/model.json`);
  if (!response.ok) throw new Error(`model.json could not be read (${response.status})`);
  const facts = await response.json();
  const session = await ort.InferenceSession.create(`${base}/${facts.onnx}`,
    { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  return new TextModel(session, facts);
}

/** The distribution the sampler draws from, given one position's logits (V,), as
 * gpt.generation.next_token_probs computes it. Works in float64, from the logits less their
 * maximum, so that any temperature above 0, however tiny, gives the limit and never NaN. */
export function nextTokenProbs(logits, { temperature, topK = null, topP = null }) {
  const V = logits.length;
  if (logits.some(l => Number.isNaN(l) || l === Infinity) || !logits.some(Number.isFinite)) {
    throw new Error("the model's output is not a number (NaN, or infinite): its weights are broken");
  }
  const top = argmax(logits);
  if (temperature === 0) return Float64Array.from(logits, (_, i) => (i === top ? 1 : 0));
  let scaled = Array.from(logits, l => (l - logits[top]) / temperature);
  if (topK !== null && topK < V) {
    const kth = [...scaled].sort((a, b) => b - a)[topK - 1];
    scaled = scaled.map(s => (s < kth ? -Infinity : s));
  }
  let probs = Float64Array.from(scaled, Math.exp);
  normalise(probs);
  if (topP !== null && topP < 1) {
    // keep a character if the ones more likely than it add up to less than top_p
    const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]);
    let before = 0;
    for (const i of order) {
      const p = probs[i];
      if (before >= topP) probs[i] = 0;
      before += p;
    }
    normalise(probs);
  }
  return probs;
}

function normalise(probs) {
  const total = probs.reduce((a, b) => a + b, 0);
  for (let i = 0; i < probs.length; i++) probs[i] /= total;
}

export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;   // the first of equal maxima, as torch.argmax
}

/** A seeded uniform generator in [0, 1) (SplitMix64): the same seed, the same draws, in
 * every browser. It is not torch's generator, so a seeded text here differs from the app's. */
export function seededRandom(seed) {
  let state = BigInt.asUintN(64, BigInt(seed));
  return () => {
    state = BigInt.asUintN(64, state + 0x9E3779B97F4A7C15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94D049BB133111EBn);
    z ^= z >> 31n;
    return Number(z >> 11n) / 2 ** 53;
  };
}

/** A fresh random seed, for "no seed": shown to the reader so the text can be made again. */
export function randomSeed() {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return ((BigInt(high) << 32n) | BigInt(low)) & MAX_SEED;
}

function draw(probs, u) {
  let total = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] <= 0) continue;
    total += probs[i];
    last = i;
    if (u < total) return i;
  }
  return last;      // u within rounding of 1
}

export class TextModel {
  constructor(session, facts) {
    this.session = session;
    this.facts = facts;
    this.vocab = facts.vocab;
    this.stoi = new Map(this.vocab.map((c, i) => [c, i]));
    const { n_layer: L, n_embd: C, block_size: block } = facts.config;
    this.block = block;
    this.layers = L;
    this.width = C;
    this.boundary = this.stoi.get("\n") ?? 0;
  }

  /** The distinct characters of `text` outside the vocabulary, in order of appearance. */
  unknownChars(text) {
    return [...new Set(Array.from(text).filter(c => !this.stoi.has(c)))];
  }

  /** `text` with unknown characters dropped, replaced (by the tokenizer's stand-in) or refused. */
  clean(text, unknown = "error") {
    const missing = this.unknownChars(text);
    if (!missing.length) return text;
    if (unknown === "error") throw new UnknownCharacters(missing, this.vocab.length);
    const stand = unknown === "replace" ? this.replacement : "";
    return Array.from(text, c => (this.stoi.has(c) ? c : stand)).join("");
  }

  get replacement() {
    return [" ", "?", "\n"].find(c => this.stoi.has(c)) ?? this.vocab[0];
  }

  encode(text) {
    return Array.from(text, c => this.stoi.get(c));
  }

  /** A KV cache of one text: per layer, the keys and the values of up to a block of
   * characters, (block, C) each, filled from the start. */
  newCache() {
    const rows = () => new Float32Array(this.block * this.width);
    return { length: 0, keys: Array.from({ length: this.layers }, rows), values: Array.from({ length: this.layers }, rows) };
  }

  /** One forward pass over `ids` after the characters in `cache` (none: a fresh pass), whose
   * new keys and values are appended to the cache. Returns the graph's outputs as tensors. */
  async window(ids, cache = this.newCache(), { attention = false } = {}) {
    const C = this.width;
    const P = cache.length;
    const feeds = { tokens: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, ids.length]) };
    const fetches = ["logits"];
    for (let l = 0; l < this.layers; l++) {
      feeds[`past_keys${l}`] = new ort.Tensor("float32", cache.keys[l].subarray(0, P * C), [1, P, C]);
      feeds[`past_values${l}`] = new ort.Tensor("float32", cache.values[l].subarray(0, P * C), [1, P, C]);
      fetches.push(`keys${l}`, `values${l}`);
    }
    if (attention) fetches.push("attention");
    const out = await this.session.run(feeds, fetches);
    for (let l = 0; l < this.layers; l++) {
      cache.keys[l].set(out[`keys${l}`].data, P * C);
      cache.values[l].set(out[`values${l}`].data, P * C);
    }
    cache.length = P + ids.length;
    return out;
  }

  /** Sampled steps continuing `promptIds` (empty: start at a newline), as
   * gpt.generation.sample_ids: each yields {token, probs, logits}. */
  async *sample(promptIds, count, settings, seed) {
    const random = seededRandom(seed);
    const block = this.block;
    const framed = this.facts.line_framed;     // a names model starts every line from a blank context
    let context = promptIds.length ? [...promptIds] : [this.boundary];
    const cache = this.newCache();
    const run = async (ids, continuing) => {
      if (!continuing) cache.length = 0;       // a fresh pass refills the cache
      const out = await this.window(ids, cache);
      return out.logits.data.slice(-this.vocab.length);        // the last position's logits
    };
    for (let i = 0; i < count; i++) {
      let logits;
      if (i === 0) {
        logits = await run(context.slice(-block), false);
      } else if (framed && context.at(-1) === this.boundary) {
        context = [this.boundary];
        logits = await run(context, false);
      } else if (cache.length === block) {
        logits = await run(context.slice(-Math.floor(block / 2)), false);     // re-prefill half a block
      } else {
        logits = await run(context.slice(-1), true);
      }
      const probs = nextTokenProbs(logits, settings);
      const token = settings.temperature === 0 ? argmax(probs) : draw(probs, random());
      context.push(token);
      yield { token, probs, logits };
    }
  }

  /** The attention weights of every layer and head over the last `maxChars` characters of
   * `text`, with the context the model really had (up to a block before them), as
   * gpt.introspect.attention_maps: {chars, start, maps[layer][head][query] = Float32Array}. */
  async attention(text, maxChars = 128) {
    const chars = Array.from(text).filter(c => this.stoi.has(c));
    if (!chars.length) throw new Error("there is no text to look at");
    const contextStart = Math.max(0, chars.length - this.block);
    const shown = Math.min(maxChars, chars.length - contextStart);
    const ids = this.encode(chars.slice(contextStart).join(""));
    const out = await this.window(ids, this.newCache(), { attention: true });
    const [L, nh, T] = out.attention.dims;
    const data = out.attention.data;
    const maps = [];
    for (let l = 0; l < L; l++) {
      const heads = [];
      for (let h = 0; h < nh; h++) {
        const rows = [];
        for (let q = T - shown; q < T; q++) {
          const at = ((l * nh + h) * T + q) * T;
          rows.push(data.slice(at + T - shown, at + T));
        }
        heads.push(rows);
      }
      maps.push(heads);
    }
    return { chars: chars.slice(-shown), start: chars.length - shown, maps };
  }
}

export class UnknownCharacters extends Error {
  constructor(unknown, vocabSize) {
    const shown = unknown.slice(0, 10).map(c => JSON.stringify(c)).join(", ") + (unknown.length > 10 ? ", ..." : "");
    super(`${shown} ${unknown.length === 1 ? "is" : "are"} not in this model's ${vocabSize}-character vocabulary`);
    this.unknown = unknown;
  }
}
