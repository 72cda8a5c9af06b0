"""Write a checkpoint's static site: `python -m gpt.web CHECKPOINT OUT_DIR [--push USER/SPACE]`."""
from __future__ import annotations

import argparse
import sys

from ..checkpoint import CheckpointError
from ..errors import UsageError
from . import export, push_space


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m gpt.web", description=__doc__)
    p.add_argument("checkpoint", help="a GPT checkpoint folder or Hugging Face Hub repo id")
    p.add_argument("out_dir", help="a new (or empty) folder for the site")
    p.add_argument("--title", help="the page's title (default: the run's title, else the folder's name)")
    p.add_argument("--push", metavar="USER/SPACE",
                   help="also create or update this Hugging Face static Space with the site (needs `hf auth login`)")
    p.add_argument("--private", action="store_true", help="with --push: a private Space")
    args = p.parse_args(argv)
    try:
        site = export(args.checkpoint, args.out_dir, name=args.title)
        print(f"wrote {len(site.files)} files, {site.total_bytes / 1e6:.1f} MB, to {site.folder}")
        print(f"try it: python -m http.server --directory {site.folder} 8000   (then open http://127.0.0.1:8000)")
        if args.push:
            print(f"pushed: {push_space(site, args.push, private=args.private)}")
    except (CheckpointError, UsageError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
