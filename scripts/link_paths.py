"""Put the repo's source folders on the virtual environment's import path (a .pth file).

One source of truth for imports: every service, test and tool sees the same packages
without installing copies.
"""

import site
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATHS = [
    ROOT / "gen" / "python",
    ROOT / "libs" / "common",
    *sorted(p for p in (ROOT / "services").iterdir() if p.is_dir()),
    ROOT / "tools",
    ROOT,
]

target = Path(site.getsitepackages()[0]) / "videogen-repo.pth"
target.write_text("".join(f"{p}\n" for p in PATHS))
print(f"wrote {target}", file=sys.stderr)
