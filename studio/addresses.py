"""Which address a shared link should carry, so that the phones of a class can open it.

A page opened on the teacher's own machine is at 127.0.0.1 (or localhost): a link or QR code made
from that address works on that machine alone, and a student's phone gets "site cannot be
reached". Where the server listens on the network (GRADIO_SERVER_NAME=0.0.0.0), the link carries
the machine's address on its network instead; where it listens on loopback alone, the teacher is
told, with the setting that fixes it.
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
ALL_INTERFACES = {"0.0.0.0", "::", ""}


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def lan_address() -> str | None:
    """This machine's address on its network: the one it would send from to the outside (a UDP
    socket's connect sends nothing), or None where it has only loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))           # TEST-NET-1: never routed, never sent to
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) or address == "0.0.0.0" else address


def shareable(page_address: str, server_name: str | None, lan: str | None = None) -> tuple[str, str]:
    """(the address to put in a link, a note for the person sharing it: empty when nothing needs saying).
    `server_name` is the interface the server listens on; `lan` this machine's network address."""
    parts = urlsplit(page_address)
    if not is_loopback(parts.hostname):
        return page_address, ""
    listens_on_network = server_name in ALL_INTERFACES or (server_name is not None and not is_loopback(server_name))
    if listens_on_network and lan:
        netloc = f"{lan}:{parts.port}" if parts.port else lan
        return (urlunsplit(parts._replace(netloc=netloc)),
                f"The link uses this computer's address on its network (**{lan}**), not {parts.hostname}: phones "
                "and laptops on the same network can open it.")
    return page_address, (f"**This page is open at {parts.hostname}, which only this computer can reach**: a "
                          "student's phone cannot open this link. Start the app with `GRADIO_SERVER_NAME=0.0.0.0` "
                          "to share it on your network, or put it on a Space (README).")
