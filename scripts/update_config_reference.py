"""Regenerate the README's config reference from the config schema.

    python scripts/update_config_reference.py          # rewrite README.md's block
    python scripts/update_config_reference.py --check  # exit 1 when README.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from torchlite.training.config_reference import replace_in_readme

README = Path(__file__).resolve().parent.parent / "README.md"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = replace_in_readme(text)
    if "--check" in argv:
        if new != text:
            print(f"{README}: the config reference is out of date; run {__file__}",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
