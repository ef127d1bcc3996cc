"""What every part of the exporter shares: its error type, its progress lines, JSON writing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Sequence

MAX_LISTED_KEYS = 6

# torch >= 2.10 warns at every torch.jit.trace/save/load that TorchScript is deprecated. It is the format the
# addon loads (libtorch 2.x still does; see /work/shared/NOTES.md), so the warning says nothing about an export.
warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)


class ExportError(Exception):
    """A problem with the checkpoint, the options or the exported file; the message is the one line printed."""


class _Log:
    # One switch for every module (they call log() through this object, not a copied function), so that the
    # tests can silence in-process exports.
    quiet = False


def log(message: str) -> None:
    if not _Log.quiet:
        print(f"export: {message}", flush=True)


def set_quiet(quiet: bool) -> None:
    _Log.quiet = quiet


def list_keys(keys: Sequence[str]) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    return shown + (f" and {len(keys) - MAX_LISTED_KEYS} more" if len(keys) > MAX_LISTED_KEYS else "")


def first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else repr(error)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
