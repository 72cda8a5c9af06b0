"""The figures and notes of the Generate, Attention and Loss tabs."""
from __future__ import annotations

import plotly.graph_objects as go

from gpt import plots
from gpt.introspect import attention_maps
from gpt.language_model import LanguageModel

from .generation import GenerationRecord


def next_char_view(record: GenerationRecord | None, position: int) -> go.Figure | None:
    """The distributions at one step (1-based) of a generation."""
    if record is None or not record.sampled_from:
        return None
    i = int(min(max(position, 1), len(record.sampled_from))) - 1
    context = record.text[max(0, record.prompt_chars + i - 20):record.prompt_chars + i]
    return plots.next_char_figure(record.vocab, record.sampled_from[i], record.model_probs[i],
                                  picked=record.generated[i], title=f"Step {i + 1}, after “{plots.show_text(context)}”")


def attention_view(model: LanguageModel, text: str, layer: int, n_chars: int, source: str
                   ) -> tuple[go.Figure | None, str]:
    """One layer's heads over the end of `text`, with a note on what is shown."""
    if not model.has_attention:
        return None, (f"**The {model.model_type} model has no attention**: it {model.no_attention_reason}. "
                      "Pick a GPT to see attention.")
    maps = attention_maps(model, text, int(n_chars))
    n_layer = len(maps.maps)
    layer = int(min(max(layer, 0), n_layer - 1))
    n_head = maps.maps[layer].shape[0]
    figure = plots.attention_figure(maps.chars, maps.maps[layer], layer, maps.start)
    return figure, (f"Layer {layer} of {n_layer}, {n_head} heads, reading the last {len(maps.chars)} characters of "
                    f"{source}. Each row is one character's query; it can only attend to itself and earlier "
                    "characters, so everything above the diagonal is zero.")


def loss_view(model: LanguageModel, name: str) -> tuple[go.Figure | None, str]:
    if not model.history:
        return None, "This model has no training history."
    figure = plots.loss_figure(model.history, model.tokenizer.vocab_size, model.run.bigram_val_loss,
                               title=f"{name}: loss")
    last = model.history[-1]
    return figure, (f"{len(model.history)} evaluations on fixed batches; last at step {last['step']:,}: "
                    f"train {last['train_loss']:.3f}, val {last['val_loss']:.3f}.")
