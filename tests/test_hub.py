"""Keeping a live model on the Hub: what is pushed, where, with whose token; and the sign-in on a Space."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import gpt
from studio.errors import InputError
from studio.hub import push_session_model

REPO = Path(__file__).resolve().parents[1]


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records what would reach the Hub."""

    calls: list = []

    def __init__(self, token=None):
        self.token = token

    def create_repo(self, repo_id, private, exist_ok, repo_type):
        FakeHub.calls.append(("create", repo_id, private, self.token))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, folder_path, repo_id, allow_patterns):
        files = sorted(p.name for p in Path(folder_path).iterdir() if p.name in allow_patterns)
        loaded = gpt.load(folder_path)                          # what is pushed loads as a model
        card = (Path(folder_path) / "README.md").read_text()
        FakeHub.calls.append(("upload", repo_id, files, loaded.num_params(), card))


@pytest.fixture
def fake_hub(monkeypatch):
    import huggingface_hub

    FakeHub.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeHub)
    return FakeHub


def test_the_model_is_pushed_to_the_students_own_account_with_their_token(tiny_gpt, fake_hub):
    url = push_session_model(tiny_gpt, "ada", "my-first-gpt", True, "hf_secret")
    assert url == "https://huggingface.co/ada/my-first-gpt"
    (_, repo, private, token), (_, repo2, files, params, card) = fake_hub.calls
    assert repo == repo2 == "ada/my-first-gpt" and private is True and token == "hf_secret"
    assert files == ["README.md", "config.json", "history.json", "model.safetensors"]
    assert params == tiny_gpt.num_params()
    assert 'gpt.load("ada/my-first-gpt")' in card and f"{tiny_gpt.num_params():,}" in card


@pytest.mark.parametrize("model, user, name, token, message", [
    (None, "ada", "x", "t", "Train a model first"),
    ("model", None, "x", None, "Sign in with Hugging Face first"),
    ("model", "ada", "../../etc", "t", "cannot name a repository"),
    ("model", "ada", "", "t", "cannot name a repository"),
])
def test_pushes_that_cannot_work_say_why(tiny_gpt, fake_hub, model, user, name, token, message):
    with pytest.raises(InputError, match=message):
        push_session_model(tiny_gpt if model else None, user, name, False, token)
    assert fake_hub.calls == []


def test_a_refused_push_is_a_message_without_the_token(tiny_gpt, monkeypatch):
    import huggingface_hub

    class Refusing(FakeHub):
        def create_repo(self, *args, **kwargs):
            raise RuntimeError(f"401 Unauthorized for token {self.token}\nTraceback details")
    monkeypatch.setattr(huggingface_hub, "HfApi", Refusing)
    with pytest.raises(InputError) as error:
        push_session_model(tiny_gpt, "ada", "name", False, "hf_secret")
    assert "401 Unauthorized" in str(error.value) and "hf_secret" not in str(error.value)
    assert "Traceback" not in str(error.value)


def test_on_a_space_with_oauth_the_app_offers_sign_in():
    """With the variables a Space sets for `hf_oauth: true`, the app builds a LoginButton and
    serves the sign-in routes; without them it shows how to push from a terminal instead."""
    script = textwrap.dedent("""
        import urllib.request, sys
        sys.path.insert(0, "tests")
        from appserver import launch_app
        app, url = launch_app()
        page = urllib.request.urlopen(url + "config").read().decode()
        print("LOGIN" if "Sign in with Hugging Face" in page else "NO LOGIN", app.demo.expects_oauth)
        app.demo.close()
    """)
    env = dict(os.environ, SYSTEM="spaces", SPACE_ID="ada/tinyshakespeare-gpt", OAUTH_CLIENT_ID="client",
               OAUTH_CLIENT_SECRET="secret",
               OAUTH_SCOPES="openid profile write-repos", OPENID_PROVIDER_URL="https://huggingface.co",
               HF_HUB_OFFLINE="1")
    local_env = {k: v for k, v in env.items() if k not in ("SPACE_ID", "OAUTH_CLIENT_ID")}
    # both at once: each is mostly one core's imports, and one after the other cost the suite 10 s more
    on_space, local = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=e, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True) for e in (env, local_env)]
    try:
        (space_out, space_err), (local_out, local_err) = (p.communicate(timeout=180) for p in (on_space, local))
    finally:
        for process in (on_space, local):
            process.kill()
    assert "LOGIN True" in space_out, space_err[-2000:]
    assert "NO LOGIN False" in local_out, local_err[-2000:]


def test_the_web_page_is_published_as_the_students_own_static_space(tiny_gpt, shakespeare, monkeypatch):
    import json

    import huggingface_hub

    from studio.hub import push_session_site

    calls = []

    class StaticHub:
        def __init__(self, token=None):
            self.token = token

        def create_repo(self, repo_id, **options):
            calls.append(("create", repo_id, options, self.token))

        def upload_folder(self, folder_path, repo_id, repo_type, commit_message):
            folder = Path(folder_path)
            calls.append(("upload", repo_id, repo_type, sorted(p.name for p in folder.iterdir()),
                          (folder / "README.md").read_text(), json.loads((folder / "model.json").read_text())))

    monkeypatch.setattr(huggingface_hub, "HfApi", StaticHub)
    monkeypatch.setattr(tiny_gpt, "tokenizer", shakespeare.dataset(32).tokenizer, raising=False)
    url = push_session_site(tiny_gpt, "ada", "my-gpt-page", False, "hf_secret")
    assert url == "https://huggingface.co/spaces/ada/my-gpt-page"
    (_, repo, options, token), (_, repo2, kind, files, card, about) = calls
    assert repo == repo2 == "ada/my-gpt-page" and token == "hf_secret" and kind == "space"
    assert options == {"repo_type": "space", "space_sdk": "static", "private": False, "exist_ok": True}
    assert {"index.html", "model.onnx", "model.json", "vendor"} <= set(files)
    assert "sdk: static" in card and about["params"] == tiny_gpt.num_params()
    calls.clear()
    with pytest.raises(InputError, match="No web page for this model"):
        push_session_site(gpt.load("checkpoints/names-bigram"), "ada", "bigram-page", False, "hf_secret")
    assert calls == []
