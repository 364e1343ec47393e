"""Write a generator script's output files, or with ``--check`` report the committed ones that differ.

Shared by the scripts whose output is committed (CMP record examples, CSV examples, record schemas), so
"stale" means the same thing for each: the committed bytes are not exactly what the script produces.
"""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(outputs: dict[Path, str], *, check: bool, repo: Path, script: str) -> int:
    """Write ``outputs`` (UTF-8, line endings as given); with ``check``, write nothing and return 1 if any
    committed file is missing or differs, naming each one."""
    stale = []
    for path, text in outputs.items():
        if check:
            if not path.exists() or path.read_bytes().decode("utf-8") != text:
                stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="") as handle:
                handle.write(text)
    for path in stale:
        print(f"stale: {path.relative_to(repo)} (run scripts/{script})", file=sys.stderr)
    return 1 if stale else 0
