"""Build the wheel and prove it ships healthlib only, with its templates, migrations and py.typed marker."""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

with tempfile.TemporaryDirectory() as out:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, str(ROOT)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (wheel,) = Path(out).glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # Install the built wheel (without dependencies: they are in this venv) and import it from there.
    target = Path(out) / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
    )
    probe = (
        "import healthlib, pathlib; p = pathlib.Path(healthlib.__file__).parent; "
        f"assert str(p).startswith({str(target)!r}), p; "
        "assert (p / 'templates/healthlib/article_detail.html').exists(); print(p)"
    )
    subprocess.run(
        [sys.executable, "-c", probe], check=True, cwd=out, env={"PYTHONPATH": str(target)}, stdout=subprocess.DEVNULL
    )
top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
problems = []
if top != {"healthlib"}:
    problems.append(f"wheel ships more than healthlib: {sorted(top)}")
# py.typed (PEP 561): without it, type checkers ignore healthlib's annotations in a site's project.
for needed in ("healthlib/migrations/0001_initial.py", "healthlib/templates/healthlib/base.html", "healthlib/py.typed"):
    if needed not in names:
        problems.append(f"missing from wheel: {needed}")
if problems:
    sys.exit("\n".join(problems))
print(f"wheel ok: {wheel.name}, {len(names)} files, top-level packages {sorted(top)}")
