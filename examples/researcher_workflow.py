#!/usr/bin/env python3
"""A researcher's whole round trip through the coachbench REST API, using only ``requests``.

    import a gallery and mistake queries -> register retrieval methods -> generate candidates
    -> create a study, build its items, publish it -> read its progress -> download its dataset

Copy this file and change what you need. Every step prints what it did; on the first error
the script prints the server's explanation and stops with a non-zero exit code:

    0  done               1  the server or network failed (or an unexpected answer)
    2  input refused      (a manifest line, a method, the study design: the message says what to fix)
    3  a job failed       (import, candidate generation, item building or export)
    4  timed out waiting  (is a Celery worker running? see --timeout)

Example, against a local server (`make run`), with a token from
`POST /api/v1/auth/token/` (or `--username/--password`):

    export COACHBENCH_URL=http://127.0.0.1:8000 COACHBENCH_TOKEN=0123abcd...
    python examples/researcher_workflow.py \\
        --gallery gallery.jsonl --queries queries.jsonl --base-dir /data/sportskills \\
        --method control=random --method text=narration-text \\
        --study-slug serve-pilot --title "Serve pilot" --k 5 --raters 3 \\
        --out serve-pilot.zip

Manifests use the format of `manage.py import_gallery` / `import_queries`. The server reads the
video files, so paths in the manifests are paths on the server: absolute, or relative to
--base-dir (a folder on the server).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

OK, FAILED, REFUSED, JOB_FAILED, TIMED_OUT = 0, 1, 2, 3, 4


class Stop(Exception):
    """Ends the run with a message and an exit code."""

    def __init__(self, message: str, code: int = FAILED):
        super().__init__(message)
        self.code = code


def say(message: str) -> None:
    print(message, flush=True)


def explain(response: requests.Response) -> str:
    """The API's error body (``{"detail", "code", "errors"}``) as lines a person can act on."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}: {body}"
    lines = [f"HTTP {response.status_code}: {body.get('detail', body)}"]
    problems = body.get("problems")
    if problems and isinstance(problems[0], dict):  # manifest imports: every problem with its line and field
        lines += [f"  line {p.get('line')}: {p.get('field')}: {p.get('message')}" for p in problems]
        if body.get("problem_count", len(problems)) > len(problems):
            lines.append(f"  ... {body['problem_count'] - len(problems)} more")
    elif problems:  # lifecycle actions: what the study design still lacks
        lines += [f"  - {p}" for p in problems]
    else:
        for field, messages in (body.get("errors") or {}).items():
            for message in messages if isinstance(messages, list) else [messages]:
                lines.append(f"  {field}: {message}")
    return "\n".join(lines)


class Api:
    """A requests session for ``/api/v1/``: token header, JSON errors turned into ``Stop``, 429s waited out."""

    def __init__(self, base_url: str, token: str, timeout_s: float):
        self.base = base_url.rstrip("/") + "/api/v1/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.session.headers["Accept"] = "application/json"
        self.timeout_s = timeout_s

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path.lstrip("/")

    def call(self, method: str, path: str, *, ok=(200,), refused=(400, 409), **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        for _attempt in range(5):
            try:
                response = self.session.request(method, self.url(path), **kwargs)
            except requests.RequestException as exc:
                raise Stop(f"{method} {self.url(path)}: could not reach the server ({exc}).") from None
            if response.status_code != 429:
                break
            wait = float(response.json().get("retry_after_s", 5)) if response.content else 5.0
            say(f"  throttled; waiting {wait:.0f} s")
            time.sleep(wait)
        if response.status_code in ok:
            return response
        message = f"{method} {path} was refused.\n{explain(response)}"
        if response.status_code in refused:
            raise Stop(message, REFUSED)
        if response.status_code == 401:
            message += "\nCheck the token (COACHBENCH_TOKEN or --token)."
        raise Stop(message, FAILED)

    def get(self, path: str, **kwargs) -> Any:
        return self.call("GET", path, **kwargs).json()

    def post(self, path: str, body: Any = None, *, ok=(200, 201, 202), **kwargs) -> Any:
        return self.call("POST", path, json=body, ok=ok, **kwargs).json()

    def wait(self, what: str, path: str, done, *, every_s: float = 1.0) -> dict:
        """Poll ``path`` until ``done(body)`` says it is finished; print progress when it changes."""
        deadline = time.monotonic() + self.timeout_s
        shown = None
        while True:
            body = self.get(path)
            if done(body):
                return body
            state = (body.get("status"), body.get("percent"))
            if state != shown:
                percent = f" {body['percent']}%" if body.get("percent") is not None else ""
                say(f"  {what}: {body.get('status')}{percent}")
                shown = state
            if time.monotonic() > deadline:
                raise Stop(
                    f"{what} is still {body.get('status')} after {self.timeout_s:.0f} s: is a Celery worker "
                    "running? (Run the script again with a larger --timeout to keep waiting.)",
                    TIMED_OUT,
                )
            time.sleep(every_s)


def token_for(base_url: str, username: str, password: str) -> str:
    response = requests.post(
        base_url.rstrip("/") + "/api/v1/auth/token/", data={"username": username, "password": password}, timeout=60
    )
    if response.status_code != 200:
        raise Stop(f"Could not get a token for {username}.\n{explain(response)}", REFUSED)
    return response.json()["token"]


# --- the steps ------------------------------------------------------------------------------------------


def wait_for_job(api: Api, job: dict, what: str) -> dict:
    job = api.wait(what, f"jobs/{job['id']}/", lambda body: body["is_finished"])
    if job["status"] != "done":
        errors = "\n".join(f"  {e.get('item')}: {e.get('error')}" for e in job.get("errors", [])[:20])
        raise Stop(f"{what} {job['status']}: {job.get('message', '')}\n{errors}".rstrip(), JOB_FAILED)
    return job


def import_manifest(api: Api, endpoint: str, manifest: Path, what: str, args: argparse.Namespace) -> None:
    params = {"probe": args.probe}
    if args.base_dir:
        params["base_dir"] = args.base_dir
    with manifest.open("rb") as body:  # streamed: a gallery manifest can be hundreds of megabytes
        answer = api.call(
            "POST",
            endpoint,
            params=params,
            data=body,
            headers={"Content-Type": "application/x-ndjson"},
            ok=(201, 202),
            timeout=600,
        ).json()
    if "counts" not in answer:  # 202: a worker imports (and probes) it; the job's result holds the counts
        say(f"  {what}: job {answer['id']} queued")
        answer = wait_for_job(api, answer, f"{what} import")["result"] or {}
    counts = ", ".join(f"{name} {n}" for name, n in sorted((answer.get("counts") or {}).items()))
    say(f"  {what}: imported ({counts or 'nothing new'})")


def register_methods(api: Api, specs: list[str]) -> list[str]:
    """``NAME=BACKEND`` or ``NAME=BACKEND:{json params}``; a method that exists already is reused as it is."""
    names = []
    for spec in specs:
        name, _, rest = spec.partition("=")
        backend, _, params = rest.partition(":")
        if not name or not backend:
            raise Stop(f"--method {spec!r}: write NAME=BACKEND, e.g. control=random", REFUSED)
        existing = api.call("GET", f"methods/{name}/", ok=(200, 404))
        if existing.status_code == 200:
            say(f"  method {name}: exists ({existing.json()['backend']})")
        else:
            body = {"name": name, "backend": backend, "params": json.loads(params) if params else {}}
            api.post("methods/", body)
            say(f"  method {name}: registered ({backend})")
        names.append(name)
    return names


def generate_candidates(api: Api, methods: list[str], k: int) -> None:
    job = api.post("jobs/generate-candidates/", {"methods": methods, "k": k})
    job = wait_for_job(api, job, "candidate generation")
    say(f"  candidates: top {k} per query for {', '.join(methods)} ({job['done']}/{job['total']} done)")


def create_and_publish_study(api: Api, methods: list[str], args: argparse.Namespace) -> dict:
    design = {
        "title": args.title,
        "slug": args.study_slug,
        "methods": methods,
        "depth_k": args.k,
        "raters_per_item": args.raters,
        "kinds": args.kinds,
    }
    study = api.post("studies/", design)
    say(f"  study {study['slug']}: created (id {study['id']}, {study['status']})")
    api.post(f"studies/{study['id']}/build/")
    study = api.wait("item building", f"studies/{study['id']}/", lambda s: s["status"] != "generating")
    if study["status"] != "ready":
        raise Stop(f"Building the items failed: {study['status_message']}", JOB_FAILED)
    items = api.get(f"studies/{study['id']}/progress/")["overall"]
    say(f"  study {study['slug']}: items built ({items['required']} judgements needed)")
    study = api.post(f"studies/{study['id']}/publish/")
    say(f"  study {study['slug']}: {study['status']}; coaches see it on their home page")
    return study


def show_progress(api: Api, study: dict, watch_s: float) -> None:
    """Print the study's progress; with ``--watch``, keep printing until it is complete or the time is up."""
    deadline = time.monotonic() + watch_s
    while True:
        progress = api.get(f"studies/{study['id']}/progress/")
        overall = progress["overall"]
        say(f"  progress: {overall['done']}/{overall['required']} judgements ({overall['percent']}%)")
        for bar in progress["by_pair"]:
            say(f"    {bar['label']}: {bar['done']}/{bar['required']}")
        if overall["percent"] >= 100 or time.monotonic() >= deadline:
            return
        time.sleep(min(30.0, max(1.0, deadline - time.monotonic())))


def download_export(api: Api, study: dict, out: Path) -> None:
    export = api.post(f"studies/{study['id']}/exports/", {"include_identities": False})
    export = api.wait(
        "export", f"studies/{study['id']}/exports/{export['id']}/", lambda e: e["status"] in {"done", "failed"}
    )
    if export["status"] != "done":
        raise Stop(f"The export failed: {export['error']}", JOB_FAILED)
    digest = hashlib.sha256()
    partial = out.with_name(out.name + ".part")
    with api.session.get(export["download_url"], stream=True, timeout=600) as response:
        if response.status_code != 200:
            raise Stop(f"Downloading the export was refused.\n{explain(response)}")
        with partial.open("wb") as handle:
            for piece in response.iter_content(1 << 20):
                digest.update(piece)
                handle.write(piece)
    if export["sha256"] and digest.hexdigest() != export["sha256"]:
        partial.unlink()
        raise Stop("The downloaded export does not match its checksum; run the script again to retry.")
    partial.replace(out)
    say(f"  export: {out} ({out.stat().st_size} bytes, {export['judgements']} judgements, sha256 {export['sha256']})")


# --- the command line -------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("COACHBENCH_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("COACHBENCH_TOKEN"), help="or COACHBENCH_TOKEN")
    parser.add_argument("--username", help="get a token with this account instead of --token")
    parser.add_argument("--password", default=os.environ.get("COACHBENCH_PASSWORD"), help="or COACHBENCH_PASSWORD")
    parser.add_argument("--gallery", type=Path, help="gallery manifest (JSON Lines) to import")
    parser.add_argument("--queries", type=Path, help="mistake query manifest (JSON Lines) to import")
    parser.add_argument("--base-dir", help="folder ON THE SERVER that relative video paths start at")
    parser.add_argument("--probe", default="sync", choices=["sync", "async", "none"], help="(default: sync)")
    parser.add_argument(
        "--method", action="append", default=[], help="NAME=BACKEND[:JSON params], repeatable, e.g. control=random"
    )
    parser.add_argument("--k", type=int, default=5, help="candidates per query and study depth (default 5)")
    parser.add_argument("--study-slug", required=True)
    parser.add_argument("--title", help="study title (default: the slug)")
    parser.add_argument("--kinds", default="both", choices=["pairwise", "likert", "both"])
    parser.add_argument("--raters", type=int, default=3, help="coaches per item (default 3)")
    parser.add_argument("--watch", type=float, default=0, help="seconds to keep polling progress (default: once)")
    parser.add_argument("--out", type=Path, help="where to save the export zip (default: SLUG.zip)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds to wait for each job (default 1800)")
    args = parser.parse_args(argv)
    args.title = args.title or args.study_slug
    args.out = args.out or Path(f"{args.study_slug}.zip")
    if len(args.method) < (2 if args.kinds != "likert" else 1):
        parser.error("give the methods to compare with --method NAME=BACKEND (two or more for pairwise studies)")
    if not args.token and not args.username:
        parser.error("give a token (--token or COACHBENCH_TOKEN) or --username and --password")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        token = token_for(args.url, args.username, args.password or "") if args.username else args.token
        api = Api(args.url, token, args.timeout)
        say(f"coachbench at {args.url}")
        if args.gallery:
            say("1. Gallery")
            import_manifest(api, "gallery/import/", args.gallery, "gallery", args)
        if args.queries:
            say("2. Mistake queries")
            import_manifest(api, "queries/import/", args.queries, "queries", args)
        say("3. Retrieval methods")
        methods = register_methods(api, args.method)
        say("4. Candidates")
        generate_candidates(api, methods, args.k)
        say("5. Study")
        study = create_and_publish_study(api, methods, args)
        say("6. Progress")
        show_progress(api, study, args.watch)
        say("7. Export")
        download_export(api, study, args.out)
    except Stop as stop:
        print(f"error: {stop}", file=sys.stderr, flush=True)
        return stop.code
    say("done")
    return OK


if __name__ == "__main__":
    sys.exit(main())
