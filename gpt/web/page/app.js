// The page: reads the settings, streams the text, and draws what the model computed.
// Everything the model does is in gpt.js; this file only talks to the reader.
import { MAX_SEED, MAX_TEMPERATURE, UnknownCharacters, loadModel, nextTokenProbs, randomSeed } from "./gpt.js";

const $ = id => document.getElementById(id);
const VISIBLE = { "\n": "↵", " ": "␣", "\t": "⇥" };
const show = c => VISIBLE[c] ?? c;
const MAX_LENGTH = 2000;
const MAX_ATTENTION_CHARS = 128;
const PLOT_CONFIG = { displayModeBar: false, responsive: true };   // no toolbar over titles on phones

let model = null;
let running = null;          // the text being written: {stop: boolean}
let lastRun = null;          // {prompt, text, steps: [{token, probs, logits}], settings, seed, charsPerSecond}

/** A setting refused, with a sentence for the reader. */
class Refusal extends Error {}

function number(id, { min, max, integer = false, optional = false, name }) {
  const raw = $(id).value.trim();
  if (raw === "" && optional) return null;
  const value = Number(raw);
  if (raw === "" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    const kind = integer ? "a whole number" : "a number";
    throw new Refusal(`${name} must be ${kind} from ${min} to ${max}${optional ? " (or empty for off)" : ""}, not “${raw}”.`);
  }
  return value;
}

function readSettings() {
  const temperature = number("temperature", { min: 0, max: MAX_TEMPERATURE, name: "The temperature" });
  const length = number("length", { min: 1, max: MAX_LENGTH, integer: true, name: "The number of new characters" });
  const topK = number("top-k", { min: 1, max: model.vocab.length, integer: true, optional: true, name: "Top-k" });
  const topP = number("top-p", { min: Number.MIN_VALUE, max: 1, optional: true, name: "Top-p" });
  const seedText = $("seed").value.trim();
  let seed;
  if (seedText === "") seed = randomSeed();
  else if (/^\d{1,19}$/.test(seedText) && BigInt(seedText) <= MAX_SEED) seed = BigInt(seedText);
  else throw new Refusal(`The seed must be a whole number from 0 to 2^63 - 1 (or empty for a random one), not “${seedText}”.`);
  return { settings: { temperature, topK, topP }, length, seed, unknown: $("unknown").value };
}

function say(text) {
  $("message").hidden = !text;
  $("message").textContent = text ?? "";
}

/** Write `count` characters after the prompt into the page, as they come. Returns the run. */
async function write(promptText, { settings, length, seed, unknown }, onChar = () => {}) {
  let note = null;
  const missing = model.unknownChars(promptText);
  const prompt = model.clean(promptText, unknown);          // refuses (throws) for unknown = "error"
  if (missing.length) {
    note = `${new UnknownCharacters(missing, model.vocab.length).message}: ${unknown === "drop" ? "dropped" : `replaced by ${JSON.stringify(model.replacement)}`}.`;
  }
  const run = { prompt, text: "", steps: [], settings, seed, stop: false, note };
  running = run;
  const started = performance.now();
  let firstAt = null;
  for await (const step of model.sample(model.encode(prompt), length, settings, seed)) {
    if (firstAt === null) firstAt = performance.now();
    run.steps.push(step);
    run.text += model.vocab[step.token];
    await onChar(run);       // the page paints and takes clicks (Stop) in there
    if (run.stop) break;
  }
  const seconds = (performance.now() - started) / 1000;
  run.seconds = seconds;
  run.firstCharMs = firstAt === null ? null : firstAt - started;
  run.charsPerSecond = run.steps.length / Math.max(seconds, 1e-6);
  running = null;
  lastRun = run;
  return run;
}

function nextFrame() {
  return new Promise(resolve => setTimeout(resolve, 0));
}

async function onGenerate() {
  say(null);
  let request;
  try {
    request = readSettings();
  } catch (e) {
    if (e instanceof Refusal) return say(e.message);
    throw e;
  }
  const box = $("text");
  const promptSpan = document.createElement("span");
  promptSpan.className = "prompt";
  const written = document.createElement("span");
  box.replaceChildren(promptSpan, written);
  $("generate").disabled = true;
  $("stop").disabled = false;
  $("step").disabled = true;
  let lastPaint = performance.now();
  try {
    const run = await write($("prompt").value, request, async current => {
      // paint about 30 times a second; the model runs in between
      if (performance.now() - lastPaint > 33) {
        written.textContent = current.text;
        $("speed").textContent = `${current.steps.length} characters…`;
        box.scrollTop = box.scrollHeight;
        lastPaint = performance.now();
        await nextFrame();
      }
    });
    promptSpan.textContent = run.prompt;
    written.textContent = run.text;
    box.scrollTop = box.scrollHeight;
    if (run.note) say(run.note);
    const seedNote = $("seed").value.trim() === "" ? ` · seed ${run.seed}` : "";
    $("speed").textContent = `Written on this device (WebAssembly, 1 thread): ${run.steps.length} characters ` +
      `in ${run.seconds.toFixed(2)} s, ${Math.round(run.charsPerSecond)} chars/s${run.stop ? " · stopped" : ""}${seedNote}`;
    showSteps(run);
    await drawAttention();
  } catch (e) {
    if (e instanceof UnknownCharacters) say(`${e.message}: choose “replace” or “drop” to write anyway.`);
    else say(`Something went wrong: ${e.message}`);
  } finally {
    running = null;
    $("generate").disabled = false;
    $("stop").disabled = true;
  }
}

// Inline: the page's own stream yields to the browser between characters, so Stop lands at once.
function onStop() {
  if (running) running.stop = true;
}

function showSteps(run) {
  const step = $("step");
  step.max = Math.max(1, run.steps.length);
  step.value = step.max;
  step.disabled = run.steps.length === 0;
  drawNext();
}

function drawNext() {
  const run = lastRun;
  if (!run || !run.steps.length) {
    $("step-value").textContent = "–";
    return;
  }
  const i = Number($("step").value) - 1;
  $("step-value").textContent = `${i + 1} of ${run.steps.length}`;
  const step = run.steps[i];
  const own = nextTokenProbs(step.logits, { temperature: 1 });
  const order = [...own.keys()].sort((a, b) => (run.steps[i].probs[b] + 1e-3 * own[b]) - (run.steps[i].probs[a] + 1e-3 * own[a])).slice(0, 15);
  if (!order.includes(step.token)) order[order.length - 1] = step.token;
  const labels = order.map(k => show(model.vocab[k]));
  const picked = order.indexOf(step.token);
  const context = (run.prompt + run.text.slice(0, i)).slice(-24);
  const traces = [
    { type: "bar", name: "model (temperature 1)", x: labels, y: order.map(k => own[k]), marker: { color: "#b0bec5" }, offsetgroup: "model" },
    { type: "bar", name: "sampled from", x: labels, y: order.map(k => step.probs[k]), marker: { color: "#1f77b4" }, offsetgroup: "sampled" },
    { type: "bar", name: "picked", x: [labels[picked]], y: [step.probs[step.token]], marker: { color: "#d95f02" }, offsetgroup: "sampled" },
  ];
  const layout = {
    title: { text: `After “${[...context].map(show).join("")}”<br>picked ${show(model.vocab[step.token])}`, font: { size: 14 } },
    barmode: "group", yaxis: { title: { text: "probability" }, range: [0, 1] },
    xaxis: { tickfont: { family: "monospace", size: 14 } }, height: 360,
    legend: { orientation: "h", y: -0.2 }, margin: { l: 60, r: 10, t: 70, b: 40 },
  };
  Plotly.react("next-plot", traces, layout, PLOT_CONFIG);
  $("next-summary").textContent = `Step ${i + 1}: the model gave ${show(model.vocab[order[0]])} ${(own[order[0]] * 100).toFixed(1)}%; ` +
    `picked ${show(model.vocab[step.token])} with probability ${(step.probs[step.token] * 100).toFixed(1)}% after the settings.`;
}

async function drawAttention() {
  const text = lastRun ? lastRun.prompt + lastRun.text : $("prompt").value;
  let maps;
  try {
    maps = await model.attention(text, MAX_ATTENTION_CHARS);
  } catch (e) {
    $("attention-summary").textContent = `No attention to draw: ${e.message}.`;
    return;
  }
  const layer = Number($("layer").value);
  const head = Number($("head").value);
  const heads = maps.maps[layer];
  const T = maps.chars.length;
  const ticks = maps.chars.map(show);
  const average = heads[0].map((row, q) => row.map((_, k) => heads.reduce((s, h) => s + h[q][k], 0) / heads.length));
  const panels = [...heads.map((m, h) => [`head ${h}`, m]), ["average", average]];
  const width = $("heads-plot").clientWidth || 600;
  const cols = Math.min(panels.length, width < 600 ? 3 : 4);
  const rows = Math.ceil(panels.length / cols);
  const traces = [];
  const layout = { height: 70 + Math.round((width / cols) * 0.96 * rows / 0.9), margin: { l: 10, r: 10, t: 40, b: 10 }, annotations: [],
    title: { text: `All heads of layer ${layer}`, font: { size: 14 } }, showlegend: false };
  panels.forEach(([title, z], n) => {
    const axis = n === 0 ? "" : String(n + 1);
    const r = Math.floor(n / cols), c = n % cols;
    const gapX = 0.04, gapY = 0.12;
    const w = (1 - gapX * (cols - 1)) / cols, hgt = (1 - gapY * (rows - 1)) / rows;
    const x0 = c * (w + gapX), y1 = 1 - r * (hgt + gapY);
    traces.push({ type: "heatmap", z: z.map(row => Array.from(row)), zmin: 0, zmax: 1, colorscale: "Viridis", showscale: false,
      xaxis: `x${axis}`, yaxis: `y${axis}`, name: title, customdata: ticks,
      hovertemplate: `query %{y}, key %{x}: %{z:.3f}<extra>${title}</extra>` });
    layout[`xaxis${axis}`] = { domain: [x0, x0 + w], showticklabels: false, anchor: `y${axis}` };
    layout[`yaxis${axis}`] = { domain: [y1 - hgt, y1], showticklabels: false, autorange: "reversed", anchor: `x${axis}` };
    layout.annotations.push({ text: title, x: x0 + w / 2, y: y1, xref: "paper", yref: "paper", yanchor: "bottom", showarrow: false });
  });
  Plotly.react("heads-plot", traces, layout, PLOT_CONFIG);
  const chosen = heads[head];
  const labels = maps.chars.map((c, i) => show(c) + "\u200b".repeat(i));    // repeated characters kept apart
  Plotly.react("head-plot", [{
    type: "heatmap", x: labels, y: labels, z: chosen.map(row => Array.from(row)), zmin: 0, zmax: 1, colorscale: "Viridis",
    colorbar: { title: { text: "weight" }, thickness: 12 },
    hovertemplate: "query %{y}<br>reads %{x}<br>weight %{z:.3f}<extra></extra>",
  }], {
    // a square map as wide as the screen allows, up to 720 px
    title: { text: `Layer ${layer}, head ${head}`, font: { size: 14 } }, height: Math.max(240, Math.min(720, width - 110)) + 110,
    xaxis: { type: "category", tickfont: { family: "monospace", size: 12 }, tickangle: 0, constrain: "domain",
      title: { text: "the character read (key)" } },
    yaxis: { type: "category", tickfont: { family: "monospace", size: 12 }, autorange: "reversed", scaleanchor: "x",
      title: { text: "the character reading (query)" } },
    margin: { l: 60, r: 10, t: 50, b: 60 },
  }, PLOT_CONFIG);
  $("attention-words").replaceChildren(...mapInWords(maps.chars, chosen).map(line => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  const last = chosen[T - 1];
  const strongest = [...last.keys()].sort((a, b) => last[b] - last[a]).slice(0, 3);
  $("attention-summary").textContent = `Layer ${layer}, head ${head}: the last character, ${show(maps.chars[T - 1])}, reads ` +
    strongest.map(k => `${show(maps.chars[k])} (position ${maps.start + k}) ${last[k].toFixed(2)}`).join(", ") + ".";
  return maps;
}

/** The large map as text, one line per query character: the (up to) three keys it reads most
 * with their weights, as the Python app's `attention_in_words` writes it. What a screen reader reads. */
function mapInWords(chars, weights, top = 3) {
  return weights.map((row, q) => {
    const read = [...Array(q + 1).keys()].sort((a, b) => row[b] - row[a] || a - b).slice(0, top)
      .filter(k => row[k] >= 0.005).map(k => `“${show(chars[k])}” ${row[k].toFixed(2)}`);
    return `“${show(chars[q])}” reads ${read.length ? read.join(", ") : "nothing above 0.005"}`;
  });
}

/** A few steps at start-up: the browser compiles WebAssembly in two tiers, and the faster
 * one arrives only once the code has run a while. The reader's first text then starts fast. */
async function warmUp() {
  for await (const _ of model.sample([model.boundary], 24, { temperature: 0 }, 0n)) { /* discarded */ }
}

function fill(select, count, label) {
  select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(label(i), String(i))));
}

async function start() {
  const opened = performance.now();
  try {
    model = await loadModel(".");
  } catch (e) {
    $("facts").textContent = `The model could not be loaded: ${e.message}. Serve this folder over HTTP (python -m http.server), not from a file.`;
    throw e;
  }
  const f = model.facts;
  const c = f.config;
  document.title = `${f.title} in your browser`;
  $("model-title").textContent = f.title;
  $("prompt").value = f.default_prompt;
  $("block-size").textContent = String(c.block_size);
  $("top-k").max = String(c.vocab_size);
  $("facts").textContent = [`${(f.params / 1e6).toFixed(2)}M parameters`, `${c.n_layer} layers × ${c.n_head} heads, ${c.n_embd} wide`,
    `${c.block_size}-character window`, `${c.vocab_size} characters`, f.corpus && `trained on ${f.corpus}`,
    f.val_loss != null && `val loss ${f.val_loss.toFixed(3)}`].filter(Boolean).join(" · ");
  fill($("layer"), c.n_layer, i => `layer ${i}`);
  fill($("head"), c.n_head, i => `head ${i}`);
  $("layer").value = String(c.n_layer - 1);
  for (const id of ["layer", "head"]) $(id).addEventListener("change", () => drawAttention());
  $("generate").addEventListener("click", onGenerate);
  $("stop").addEventListener("click", onStop);
  $("step").addEventListener("input", drawNext);
  $("draw-attention").addEventListener("click", () => drawAttention());
  await warmUp();
  $("generate").disabled = false;
  $("draw-attention").disabled = false;
  window.gptWeb.loadedMs = performance.now() - opened;
}

// For tests and the benchmark: the model and the last run, read from the page.
window.gptWeb = {
  get model() { return model; },
  get lastRun() { return lastRun; },
  ready: null,
  write: (prompt, request) => write(prompt, request),
};
window.gptWeb.ready = start();
