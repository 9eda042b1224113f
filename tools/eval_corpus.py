"""Score page extraction against the real-page corpus, through the real command.

    python tools/eval_corpus.py [--corpus DIR] [--govmon PATH] [--jobs N]

Serves ``DIR/pages/*.html`` on a loopback HTTP server (127.0.0.1, a random port, in a
thread), runs ``govmon inspect URL --format json`` on each page as a subprocess, and
compares title, publish_date and written_date with ``DIR/ground_truth.jsonl`` (a null
truth must come back null). Prints one row per page and the three scores; exits 1 when
any score is below full marks. The corpus is for measuring only: nothing from it is
copied into the project.

The default corpus is ``../shared/corpus`` relative to the repository root. Should the
``govmon`` command not be installed, the pages are scored with ``extract_page`` directly
(and the output says so) — the command is what counts.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
FIELDS = ("title", "publish_date", "written_date")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="corpus-server", daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def find_govmon(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    beside = Path(sys.executable).with_name("govmon")
    if beside.exists():
        return str(beside)
    venv = REPO / ".venv" / "bin" / "govmon"
    if venv.exists():
        return str(venv)
    return shutil.which("govmon")


def inspect_with_command(govmon: str, url: str, workdir: str) -> dict[str, Any]:
    """``govmon inspect URL --format json``, run where no config.yaml is found."""
    proc = subprocess.run(
        [govmon, "inspect", url, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def inspect_in_process(url: str) -> dict[str, Any]:
    import urllib.request

    sys.path.insert(0, str(REPO))
    from govmon.crawler.extract import extract_page

    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 - loopback only
        body = resp.read()
        headers = dict(resp.headers.items())
    data = extract_page(url, body, headers).to_dict()
    data["status"] = 200
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score govmon inspect against the real-page corpus.")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--govmon", help="path of the govmon command (default: the one beside this Python)")
    parser.add_argument("--jobs", type=int, default=4, help="pages inspected at once")
    args = parser.parse_args(argv)

    corpus: Path = args.corpus
    truth_file = corpus / "ground_truth.jsonl"
    pages_dir = corpus / "pages"
    if not truth_file.is_file() or not pages_dir.is_dir():
        print(f"corpus not found: {corpus} (needs ground_truth.jsonl and pages/)", file=sys.stderr)
        return 2
    records = [json.loads(line) for line in truth_file.read_text(encoding="utf-8").splitlines() if line.strip()]

    govmon = find_govmon(args.govmon)
    if govmon is None:
        print("NOTE: the govmon command is not installed; scoring extract_page in this process instead")

    server, base = serve(pages_dir)
    workdir = tempfile.mkdtemp(prefix="govmon-eval-")
    try:

        def one(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
            url = base + quote(record["file"])
            try:
                data = inspect_with_command(govmon, url, workdir) if govmon else inspect_in_process(url)
                return record, data, None
            except Exception as err:  # report the page, keep scoring the others
                return record, None, f"{type(err).__name__}: {err}"

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(one, records))
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(workdir, ignore_errors=True)

    scores = {field: 0 for field in FIELDS}
    print(f"{'page':<46} {'title':^5} {'pub':^5} {'writ':^5}  got (publish / written / title)")
    for record, data, error in results:
        truth = record["ground_truth"]
        name = record["file"][:46]
        if data is None:
            print(f"{name:<46} {'ERR':^5} {'ERR':^5} {'ERR':^5}  {error}")
            continue
        marks = []
        for field in FIELDS:
            ok = data.get(field) == truth.get(field)
            scores[field] += ok
            marks.append("ok" if ok else "XX")
        print(f"{name:<46} {marks[0]:^5} {marks[1]:^5} {marks[2]:^5}  "
              f"{data.get('publish_date')} ({data.get('publish_date_how')}) / "
              f"{data.get('written_date')} ({data.get('written_date_how')}) / {data.get('title')}")
        for field, mark in zip(FIELDS, marks, strict=True):
            if mark == "XX":
                print(f"{'':<46}   want {field} = {truth.get(field)!r}, got {data.get(field)!r}")

    total = len(records)
    print()
    print("  ".join(f"{field}: {scores[field]}/{total}" for field in FIELDS)
          + ("" if govmon else "   (in-process, not the command)"))
    return 0 if all(scores[field] == total for field in FIELDS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
