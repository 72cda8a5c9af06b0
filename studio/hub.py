"""Keep a live-trained model: push it to the student's own Hugging Face account.

On a Space with `hf_oauth: true` the student signs in with Hugging Face (gr.LoginButton) and
the push uses their own token (scope write-repos), so the repository is theirs. Elsewhere the
app says how to do the same from a terminal.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from gpt import checkpoint, web
from gpt.language_model import LanguageModel

from .errors import InputError, first_line, without_secret

REPO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
DEFAULT_REPO_NAME = "tinyshakespeare-gpt-live"
LOCAL_INSTRUCTIONS = (
    "**Pushing to the Hub needs a Hugging Face sign-in, which works when this app runs as a Space.** "
    "Here, download the zip above, unzip it, then in a terminal: `hf auth login`, and in Python "
    "`import gpt; gpt.push_to_hub('my-model', 'your-username/my-model')`; to publish it as a web page "
    "that runs in every visitor's browser (a free static Space): "
    "`python -m gpt.web my-model my-site --push your-username/my-site`.")


def live_model_card(model: LanguageModel, repo_id: str) -> str:
    """A model card for a model trained in the app: what it is, how it was measured, how to load it."""
    run = model.run
    last = model.history[-1] if model.history else None
    arch = ", ".join(f"{k}={v}" for k, v in vars(model.config).items())
    settings = json.dumps(vars(run.train_config), indent=1) if run.train_config else "{}"
    loss = (f"| val loss at step {last['step']:,} | **{last['val_loss']:.4f}** (a fixed random sample of the val "
            f"split, as plotted live) |" if last else "| val loss | not measured |")
    return "\n".join([
        "---", "license: mit", "library_name: pytorch", "pipeline_tag: text-generation",
        "tags: [character-level, gpt, tinyshakespeare-gpt, trained-live]", "---", "",
        f"# {repo_id.split('/')[-1]}", "",
        f"A character-level **{model.model_type}** trained live in the browser with "
        "[tinyshakespeare-gpt](https://huggingface.co/spaces) on two CPU cores.", "",
        "| | |", "|---|---|",
        f"| data | {run.corpus or 'text'} |",
        f"| vocabulary | {model.tokenizer.vocab_size} characters |",
        f"| architecture | {arch} |",
        f"| parameters | {model.num_params():,} |",
        f"| steps | {run.step:,} in {run.elapsed:.0f} s |",
        loss,
        f"| reference: counting bigram, val | {run.bigram_val_loss} |", "",
        "## Use it", "", "```python", "import gpt",
        f'model = gpt.load("{repo_id}")',
        'print("".join(gpt.generate(model, "\\n", 300, temperature=0.8, seed=0)))', "```", "",
        "## Training settings", "", "```json", settings, "```", "",
        "`history.json` holds every evaluation of the run: step, train and val loss, learning rate, characters seen.",
        ""])


def push_session_model(model: LanguageModel | None, username: str | None, repo_name: str, private: bool,
                       token: str | None) -> str:
    """Push the session's model to `username/repo_name` with the user's own token; returns its URL."""
    repo_id = _checked_repo(model, username, repo_name, token)
    folder = Path(tempfile.mkdtemp(prefix="tinyshakespeare-push-"))
    try:
        checkpoint.save(model, folder / "model", card=live_model_card(model, repo_id))
        return checkpoint.push_to_hub(folder / "model", repo_id, private=bool(private), token=token)
    except Exception as e:          # the Hub's own errors (permissions, network): say what, never a traceback
        raise InputError(f"The Hub refused the push to {repo_id}: {without_secret(first_line(e), token)}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def push_session_site(model: LanguageModel | None, username: str | None, repo_name: str, private: bool,
                      token: str | None) -> str:
    """Push the session's model as a web page (`gpt.web`) to the user's own static Space
    `username/repo_name` (free to host: no server runs the model); returns the Space's URL."""
    repo_id = _checked_repo(model, username, repo_name, token)
    if (reason := web.unavailable_reason(model)) is not None:
        raise InputError(f"No web page for this model: {reason}.")
    folder = Path(tempfile.mkdtemp(prefix="tinyshakespeare-site-"))
    try:
        site = web.export(model, folder / "site", name=repo_name)
        return web.push_space(site, repo_id, token=token, private=bool(private))
    except Exception as e:          # the Hub's own errors, as above
        raise InputError(f"The Hub refused the Space {repo_id}: {without_secret(first_line(e), token)}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _checked_repo(model: LanguageModel | None, username: str | None, repo_name: str, token: str | None) -> str:
    """The repository id a push goes to, once there is a model, a sign-in and a valid name."""
    if model is None:
        raise InputError("Train a model first: there is nothing to push yet.")
    if not username or not token:
        raise InputError("Sign in with Hugging Face first (the button above).")
    repo_name = (repo_name or "").strip()
    if not REPO_NAME.match(repo_name) or ".." in repo_name or repo_name.endswith((".", "-")):
        raise InputError(f"{repo_name!r} cannot name a repository: use letters, digits, '-', '_' or '.', "
                         "at most 96 characters.")
    return f"{username}/{repo_name}"


def pushed_site_message(url: str, private: bool) -> str:
    """What a student reads after pushing the web page: where it is, and that it runs in the visitor's browser."""
    return (f"**Published** as a static Space: [{url}]({url}). It runs your model in each visitor's own browser"
            f"{' (private: only you, signed in, can open it)' if private else ''}.")


def pushed_message(url: str, private: bool) -> str:
    """What a student reads after a push: where it went and the line that loads it anywhere."""
    repo_id = url.rstrip("/").split("/", 3)[-1]
    return (f"**Pushed** to [{url}]({url}). Load it anywhere with `gpt.load(\"{repo_id}\")`"
            f"{' (private: sign in to see it)' if private else ''}.")
