"""What the Lab's instruments read before anyone types: the prompt its knockout regenerates and
its memorisation samples from, and the model the induction instrument compares with."""
from __future__ import annotations

COPYING_MODEL = "copying-gpt"
"""The GPT trained where copying pays: the induction instrument's reference."""
DEFAULT_PROMPT = "ROMEO:\n"
OPENING_SAMPLE_CHARS = 200
"""Characters regenerated with and without a head when the knockout opens (its slider's default)."""
