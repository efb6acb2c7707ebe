"""Screenshots kept as test artefacts: in SCREENSHOT_DIR when set, else tests/browser/artifacts/ (gitignored)."""

import os
from pathlib import Path

FOLDER = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parent / "artifacts")


def shot(page, name: str) -> Path:
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path
