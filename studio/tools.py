"""What each public endpoint tells its callers: the API page and the assistants that call the app
through its MCP server (Gradio reads a handler's docstring: a summary, then `Args:` and `Returns:`).

One place for them keeps the UI modules to their layout and wiring; `ui.shared.described` sets a
handler's docstring from here by its name, and tests/test_mcp.py checks every tool has one."""
from __future__ import annotations

MODEL = ("model_name: a checkpoint's name, as listed in the app (e.g. shakespeare-gpt, names-mlp); \"yours\" is "
         "a model trained in a browser page and cannot be used from here.")

DOCS: dict[str, str] = {
    'lab_surprisal': """How surprised the model is by each character of a text, in bits (-log2 of its probability).

Args:
    {MODEL}
    passage: the text to measure (at most 2,000 characters the model knows).
    compare_name: another model to subtract (its bits minus this one's per character), or "none".
Returns:
    Each character with its surprisal, and a note with the mean bits per character and the loss.
""",
    'lab_predict': """What the model expected at one character of a text, and which earlier characters each head read.

Args:
    {MODEL}
    passage: the text.
    position: the character to inspect, 1-based (the first is not predicted).
Returns:
    The next-character distribution there, the heads' attention rows, and the true character's probability.
""",
    'lab_knockout': """Remove each attention head in turn and measure how much the next-character loss rises.

Args:
    {MODEL}
    source: "val" (a fixed val slice; shipped models are measured in advance) or "text" (passage).
    passage: the text to measure on when source is "text".
    mode: "zero" (the head's output zeroed) or "mean" (replaced by its mean over the text).
Returns:
    A layer-by-head grid of the loss increase, and a note naming the heads that matter most.
""",
    'lab_regenerate': """The same prompt and seed written by the intact model and with some attention heads removed.

Args:
    {MODEL}
    chosen: the heads to remove, as "L<layer> H<head>" strings (e.g. ["L0 H1", "L2 H3"]).
    prompt: the text to continue.
    length: characters to write.
    seed: a whole number.
Returns:
    The intact text, the text without those heads, and a note.
""",
    'lab_lens': """The logit lens: the next-character prediction read from the residual stream after every layer.

Args:
    {MODEL}
    passage: the text (at most 2,000 characters the model knows).
Returns:
    Per layer and position, the probability of the true next character, and a note on where it appears.
""",
    'lab_lens_position': """The logit lens at one position: the five likeliest next characters after each layer.

Args:
    {MODEL}
    passage: the text.
    position: the position whose next character is predicted, 0-based.
Returns:
    A table of the top five characters and probabilities per layer.
""",
    'lab_induction': """Induction: a string written twice; a model that copies is far less surprised by the second copy.

Args:
    {MODEL}
    length: the string's length, 10 to 60.
    seed: a whole number choosing the string.
    kind: "random" (random characters) or "val" (a passage of the val split).
Returns:
    The loss on each copy, each head's induction score, and (for the copying GPT) how they formed.
""",
    'lab_memorised': """The spans of a text found word for word in the model's training split, with line and speaker.

Args:
    {MODEL}
    typed: the text to check.
    min_len: the shortest span counted, in characters (5 to 100).
Returns:
    The text with the verbatim spans marked, and a note listing where each was found.
""",
    'features_open': """Open the sparse-autoencoder features of the shipped GPT's residual stream (after block 3):
the SAE's quality, the most frequent features (of those firing at most 5% of the time), and one
feature's page (its strongest val contexts beside the untrained-model control).

Args:
    feature: the feature to show, 0 to 1535 (none: the most frequent).
Returns:
    The headline, the explanation, the features listed, and the feature's number, header and contexts
    (HTML: one context a line, each character a span.token with its activation, relative to the
    strongest, in data-a).
""",
    'features_search': """Search the SAE's features by the text of their strongest contexts, or by what they promote.

Args:
    text: words to find in the contexts (e.g. "ROMEO"), or "promotes: x" for features that promote x.
Returns:
    The matching features, best first.
""",
    'feature_page': """One SAE feature's page: its density, what it promotes and suppresses, and its strongest contexts.

Args:
    f: the feature, 0 to 1535.
Returns:
    The feature's number, header, contexts and the control's contexts (HTML, as features_open gives them), and the
    list of the most frequent features with it among them.
""",
    'features_at': """The SAE features active at one character of a text, strongest first.

Args:
    text: the text (characters the shipped GPT knows).
    position: the character, 1-based.
Returns:
    A table of features with their activations, what each promotes, and its strongest context.
""",
    'feature_steer': """Steering: the same prompt and seed written without and with one SAE feature, either added to the
stream at a strength or held at an activation at every position.

Args:
    text: the prompt.
    f: the feature, 0 to 1535.
    s: the strength added (negative suppresses) or the activation held, -50 to 50.
    n: characters to write, 1 to 500.
    seed_value: a whole number.
    how: "add" (its direction times s added) or "hold" (its activation held at s; 0 removes it).
Returns:
    The text without the feature and the text with it.
""",
    'generate': """Continue a prompt with a character-level GPT, one character at a time (streamed).

Args:
    prompt_text: the text to continue (characters the model does not know are handled by unknown_policy).
    {MODEL}
    max_new_tokens: how many characters to write, 1 to 2000.
    temp: sampling temperature, 0 (greedy: always the likeliest character) to 2; 0.8 is the app's default.
    k: top-k, keep only the k likeliest characters (0 = off).
    p: top-p (nucleus), keep the likeliest characters whose probabilities sum to p (1 = off).
    seed_text: a whole number makes the text reproducible; empty: a fresh random one.
    unknown_policy: "replace", "drop" or "error" for characters outside the model's vocabulary.
Returns:
    The prompt and its continuation, and a note on what was done.
""",
    'attention': """Draw every attention head of one layer over the characters of a text.

Args:
    {MODEL}
    prompt: the text whose attention to draw (the last chars characters of it).
    layer_index: the layer, from 0.
    chars: how many of the text's last characters to show, 8 to 128.
    head_name: "average of heads", or one head as "head 0", "head 1", ...
Returns:
    The chosen head's map, every head's map, a note explaining how to read them, and the chosen map in words
    (for each character, the characters it reads most with their weights: the numbers without the figure).
""",
    'timeline': """Every view of one snapshot of a training run: how the model looked part-way through training.

Args:
    source_choice: "shipped" (16 snapshots of a 2-layer GPT trained on Tiny Shakespeare).
    index: the snapshot, from 1 (noise) to 16 (the end of training).
    layer_index: the layer whose attention to draw, from 0.
    head_name: "average of heads", or one head as "head 0", "head 1", ...
    at: the position in the fixed val text whose next-character distribution to show, from 1.
Returns:
    The step and losses, the loss curve, a sample, attention, the next-character distribution,
    the surprisal of a val passage and the training diagnostics at that snapshot.
""",
    'train': """Train a small model live for a time budget (one training at a time; others wait in line).

Args:
    corpus_choice: "shakespeare" (Tiny Shakespeare), "names" (makemore's names) or "upload".
    upload_path: a .txt file when corpus_choice is "upload", else none.
    model_choice: "bigram", "mlp" or "gpt".
    layers: GPT layers.
    heads: GPT attention heads per layer.
    width: embedding width (GPT) or per-character embedding (MLP).
    context: characters of context (block size).
    budget: minutes of training.
    steps: the most optimizer steps.
    rate: the learning rate.
    batch: sequences per step.
    hidden: the MLP's hidden units.
    optimizer_choice: "adamw", or "muon" (Muon on the hidden matrices beside AdamW).
Returns:
    The loss curve, samples and diagnostics as it trains, and the final note.
""",
}


def _returns_on_one_line(doc: str) -> str:
    """Gradio reads each line under `Returns:` as one output's description and joins them with
    ", " (a wrapped sentence came out as "relative to the, strongest, in data-a"): one line it is."""
    head, returns = doc.split("Returns:\n", 1)
    return head + "Returns:\n    " + " ".join(line.strip() for line in returns.splitlines() if line.strip()) + "\n"


DOCS = {name: _returns_on_one_line(doc.replace("{MODEL}", MODEL)) for name, doc in DOCS.items()}
