"""Links that reopen a view (`studio.links` checks and writes them; this wires them to the page).

Tabs name the components whose values travel (`carry`) and say how their tab is drawn from a
link (`on_open`). The address bar follows the page in the browser alone (assets/view-link.html:
no request per change). When a page opens with a query string, `wire` sets what it carries,
switches to its tab and model, and draws the tab from those values; "Share this view" gives the
link to copy and a QR code for phones.
"""
from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence
from urllib.parse import parse_qsl

import gradio as gr
import segno
from PIL import Image

from studio import addresses, links
from studio.resources import Resources
from studio.zoo import SESSION_MODEL

Update = dict          # {component: new value or gr.update(...)}: what a handler returns

LOG = logging.getLogger("tinyshakespeare-gpt")


@dataclass(frozen=True)
class Opener:
    fn: Callable[..., Update | None]       # fn(link, *values): the tab drawn as the link asks
    inputs: list
    outputs: list


class Links:
    """The page's link wiring: built with `Shared`, wired once every tab has registered."""

    def __init__(self, resources: Resources, tabs: Sequence[str], declared: list[links.Param]):
        self.resources = resources
        self.params = links.params(resources.zoo.names(), tabs, declared)
        self.carried: dict[str, gr.components.Component] = {}
        self.openers: dict[str, Opener] = {}
        self.state = gr.State(None)                     # the link this page opened with (a ViewLink)
        self.generation = gr.State(None)                # set when the link asks for its text again

    def carry(self, key: str, component):
        """`component`'s value travels in links as `key` (a parameter of studio.links)."""
        if key not in self.params:
            raise KeyError(f"no link parameter {key!r}")
        self.carried[key] = component
        return component

    def on_open(self, tab: str, fn: Callable[..., Update | None], inputs: list, outputs: list) -> None:
        """How `tab` is drawn when a link opens on it: fn(link, *inputs' values)."""
        self.openers[tab] = Opener(fn, inputs, outputs)

    def share_button(self) -> None:
        """The "Share this view" button (in the model row)."""
        self.share_btn = gr.Button("Share this view", size="sm", elem_id="share-view", min_width=140, scale=0)

    def share_row(self) -> None:
        """What the button shows, under the model row: the link (copied already), and a QR code for phones."""
        with gr.Row(visible=False, elem_id="share-box", equal_height=False) as self.share_box:
            with gr.Column(scale=3, min_width=260):
                self.share_link = gr.Textbox(label="A link to this view (copied: paste it anywhere)", buttons=["copy"],
                                             interactive=False, elem_id="share-link", max_lines=4)
                self.share_note = gr.Markdown(elem_id="share-note")
                self.share_close = gr.Button("Close", size="sm", min_width=80)
            with gr.Column(scale=1, min_width=220):
                # no label drawn over the image: Gradio's sits on the code's top-left finder square,
                # and a phone then cannot read it; the caption goes under the code instead
                self.share_qr = gr.Image(label="QR code of the link", show_label=False, type="pil", interactive=False,
                                         elem_id="share-qr", buttons=["fullscreen"], height=220, min_width=220)
                gr.Markdown("Scan it with a phone", elem_id="share-qr-caption")

    def chars_known(self, model: str | None) -> set[str] | None:
        name = model or self.resources.default_model
        try:
            return set(self.resources.zoo.get(name).tokenizer.chars) if name else None
        except Exception:                 # a Hub model that cannot be fetched: its texts are checked when used
            LOG.info("link: the vocabulary of %s could not be read", name)
            return None

    def read(self, query) -> links.ViewLink:
        return links.parse(dict(query), self.params, self.chars_known)

    def wire(self, demo: gr.Blocks, tabs: gr.Tabs, open_tab: gr.State, model: gr.Dropdown,
             reopen_model: Callable[..., Iterator[Update]], model_inputs: list, model_outputs: list,
             note: gr.Markdown, busy: gr.Markdown) -> None:
        """`reopen_model(open_tab, *model_inputs)` yields every tab's part for a new model (Shared's);
        `note` says what a link could not reopen; `busy` shows the progress of drawing what it names."""
        carried = self.carried
        for key, component in carried.items():
            default = json.dumps(self.params[key].default)
            component.change(None, [component], None, js=f"(v) => {{ window.viewLink && "
                             f"window.viewLink.set({json.dumps(key)}, v === {json.dumps(SESSION_MODEL)} ? '' : v, "
                             f"{default}); }}")

        dropped = gr.Textbox(visible=False)    # the link's parameters not used: taken out of the address bar

        def opened(request: gr.Request) -> dict:
            query = request.query_params if request is not None else {}
            link = self.read(query)
            # private values (a teacher's key) leave the address bar at once: it may be on a projector
            gone = [k for k in query if k not in link.values or self.params[k].private]
            page = {self.state: link, note: link.note, dropped: json.dumps(gone)}
            for key, component in carried.items():
                if key in link and not self.params[key].per_model:     # those the tab sets once checked
                    page[component] = link.get(key)
            if "tab" in link:
                page |= {tabs: gr.Tabs(selected=link.get("tab")), open_tab: link.get("tab")}
            if link.problems:
                LOG.info("link opened in part: %s", "; ".join(link.problems)[:300])
            return page

        opener_inputs = unique_components([c for o in self.openers.values() for c in o.inputs])
        opener_outputs = unique_components([c for o in self.openers.values() for c in o.outputs])
        inputs = unique_components([self.state, open_tab, *model_inputs, *opener_inputs])
        outputs = unique_components([*model_outputs, *opener_outputs, self.generation])

        def parts(link: links.ViewLink | None, tab_on_screen, *values) -> Iterator[Update]:
            """The model's parts (when the link names one) and the linked tab drawn from the link."""
            if link is None or not link.values:
                return
            given = dict(zip(inputs[2:], values)) | {open_tab: tab_on_screen}
            if link.get("model") not in (None, self.resources.default_model):
                yield from reopen_model(tab_on_screen, *(given[c] for c in model_inputs))
            opener = self.openers.get(link.get("tab", "generate"))
            if opener is not None:
                try:
                    update = opener.fn(link, *(given[c] for c in opener.inputs))
                except gr.Error as e:
                    update = {note: f"{link.note} {e}".strip()}
                if update:
                    yield update
            if "gen" in link:
                yield {self.generation: {"seed": link.get("gen")}}

        def drawn(link: links.ViewLink | None, tab_on_screen, *values) -> Iterator[Update]:
            """`parts`, or one update that changes nothing where there are none (no link, or a tab
            that draws nothing from one: ?tab=generate). Yielding nothing would set every output
            to None: the Attention tab's sliders among them, which then refused the maps after
            every text of that page with two error toasts."""
            nothing = True
            for update in parts(link, tab_on_screen, *values):
                nothing = False
                yield update
            if nothing:
                yield {self.generation: gr.skip()}

        # show_progress_on: see 'Progress targets' in ui/shared.py (the outputs hold the tab bar and every tab's views)
        demo.load(opened, None, unique_components([self.state, note, dropped, *carried.values(), tabs, open_tab]),
                  api_visibility="private", show_progress="hidden", show_progress_on=note).then(
            None, dropped, None, js="(keys) => window.viewLink && window.viewLink.drop(JSON.parse(keys || '[]'))").then(
            drawn, inputs, outputs, api_visibility="private", show_progress="minimal", show_progress_on=busy)

        address, query = gr.Textbox(visible=False), gr.Textbox(visible=False)

        def share(page_address: str, page_query: str, model_name) -> dict:
            """The link of what is on screen (the address bar's query, checked and written again), and its QR code."""
            link = self.read(dict(parse_qsl((page_query or "").lstrip("?"))))
            shown = links.encode(link.values, self.params)
            # a page at 127.0.0.1 shares the machine's network address, or says why it cannot
            reachable, reach_note = addresses.shareable(page_address or "", getattr(demo, "server_name", None),
                                                        addresses.lan_address())
            address_text = reachable + ("?" + shown if shown else "")
            words = [reach_note] if reach_note else []
            if model_name == SESSION_MODEL:
                words.append("Your own model cannot travel in a link (it lives only in this browser session): "
                             "the link opens on the shipped model.")
            words += link.problems
            qr = qr_image(address_text)
            if qr is None:
                words.append("This link is too long for a QR code: shorten the text it carries.")
            return {self.share_box: gr.Row(visible=True), self.share_link: address_text,
                    self.share_qr: gr.Image(qr, visible=qr is not None), self.share_note: " ".join(words)}

        self.share_close.click(lambda: gr.Row(visible=False), None, self.share_box, api_visibility="private",
                               show_progress="hidden", show_progress_on=self.share_link)
        # the page's own address comes from the browser: behind a proxy (a Space) the server cannot know it
        self.share_btn.click(share, [address, query, model],
                             [self.share_box, self.share_link, self.share_qr, self.share_note],
                             js="(a, q, m) => [location.origin + location.pathname, location.search, m]",
                             api_visibility="private", show_progress="hidden", show_progress_on=self.share_link).then(
            None, self.share_link, None, js="(text) => { try { navigator.clipboard.writeText(text); } catch (e) {} }")


def qr_image(address: str) -> Image.Image | None:
    """The link as a QR code (None when it is too long for one)."""
    try:
        code = segno.make(address, error="m", micro=False)
    except segno.DataOverflowError:
        return None
    png = io.BytesIO()
    code.save(png, kind="png", scale=6, border=4)      # the standard's quiet zone: 4 modules of white
    return Image.open(io.BytesIO(png.getvalue()))


def unique_components(components: list) -> list:
    """Each component once, in first-seen order (an event's inputs and outputs may not repeat one)."""
    return list(dict.fromkeys(components))       # a component is its own key: Gradio's blocks hash by identity
