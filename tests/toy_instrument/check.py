"""Run inside the worked example's copy of the app: prints, as JSON, where the new instrument shows."""
import json
import subprocess
import sys

import gradio as gr

import app
import ui
from studio import links
from studio.code_views import code_markdown

found = {}
tab_ids = [[c.id for c in b.children if isinstance(c, gr.Tab)] for b in app.demo.blocks.values()
           if isinstance(b, gr.Tabs)]
found["lab_tabs"] = next(ids for ids in tab_ids if "lab-surprisal" in ids)
params = app.PAGE.shared.links.params
link = links.parse({"tab": "lab", "lab": "vowels", "vtext": "ROMEO:\nO"}, params)
found["link"] = {"values": link.values, "problems": link.problems, "encoded": links.encode(link.values, params)}
script = ui.view_names()
found["page_script_lab"] = json.loads(script[script.index("=") + 1:script.rindex(";")])["lab"]
page = app.PAGE.lab.switched("shakespeare-gpt", "lab", "vowels", {("vowels", "text"): "ROMEO:\nO Juliet"})
found["opened_note"] = [v for v in page.values() if isinstance(v, str) and v.startswith("A vowel next")]
found["code"] = code_markdown(ui.code_views()["vowels"], app.RESOURCES.zoo.get("shakespeare-gpt"), "ROMEO:\nO")

_, url, _ = app.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=int(sys.argv[1]))
listed = subprocess.run([sys.executable, sys.argv[2], url.rstrip("/"), json.dumps(
    [["lab_vowels", {"model_name": "shakespeare-gpt", "passage": "ROMEO:\nO Juliet"}]])],
    capture_output=True, text=True, timeout=120)
tools = json.loads(listed.stdout)
found["tools"] = {t["name"]: t["description"] for t in tools["tools"]}
found["called"] = tools["results"][0]
app.demo.close()
print("RESULT " + json.dumps(found))
