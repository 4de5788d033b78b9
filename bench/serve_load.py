"""Load on `digits serve --workers 2`, measured against the targets of issue 12.

Starts `digits serve` on a free port of 127.0.0.1 (a subprocess, `--workers 2`, the given model),
times start to ready (the first `/healthz` answer, and the moment both workers have answered),
then drives it from this process, on the same machine, with a lean asyncio HTTP/1.1 client
(prepared request bytes on kept-alive connections; `drive_raw`), and the canvas load once more
with httpx, the client of earlier runs, which takes ~2 ms of CPU per request from the server:

  (a) a 280×280 canvas-like PNG (a digit drawn in #111 on white, antialiased, RGBA like a
      browser canvas' `toBlob`), sent as the page sends a drawing (`POST /api/predict?explain=1`,
      raw `image/png` body) by 32 concurrent clients: requests/s, p50/p90/p99 latency, errors;
  (a') the same drawing to `/api/read`, which the page asks instead when reading numbers is
      installed (no target in the issue: for information);
  (b) a 4-megapixel (2309×1732) phone-photo JPEG (a real photographed digit from
      ../shared/data/real-digits, cropped to 4:3, resized, with sensor noise) by 2 clients;
  (c) VmRSS (and VmHWM, the peak) of each uvicorn worker process after the load;
  (d) the page's first load: `GET /` and every asset it references, summed bytes.

Every answer is checked: a non-200 status, a transport error or a digit other than the one
the same image gets in-process counts as an error. Then, in this process and one thread, where
the time goes for one canvas PNG (and one photo): `load_image_bytes`, `normalize`,
`model.predict` and the `?explain=1` PNG, each the median of --reps repetitions.

Run it on a quiet machine (it reports how busy the CPUs were just before it started):

    python bench/serve_load.py [--model models/model.tflite] [--seconds 15] [--out bench/results/serve_load.json]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real-digits" / "images"
PHOTO_SOURCE = "4_aaronpan_1.jpg"  # black marker on grey-lit paper, 2379×2379, label 4
PHOTO_SIZE = (2309, 1732)  # 4.0 megapixels, 4:3
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Issue 12, "Targets (two cores, the load client running on the same machine)".
TARGETS = {
    "canvas_rps": (">=", 250.0), "canvas_p99_ms": ("<=", 100.0), "canvas_errors": ("<=", 0),
    "photo_rps": (">=", 25.0), "photo_p50_ms": ("<=", 120.0),
    "start_to_ready_s": ("<=", 2.0), "rss_per_worker_mb": ("<=", 250.0), "page_first_load_kb": ("<=", 300.0),
}


# ---- the images -----------------------------------------------------------------------------

def canvas_png() -> bytes:
    """A 7 with a crossbar, drawn as the page draws (16 px round strokes of #111 on white) on a
    280×280 canvas, antialiased by drawing at 4× and reducing; saved RGBA like `toBlob`."""
    k = 4
    im = Image.new("RGBA", (280 * k, 280 * k), (255, 255, 255, 255))
    d = ImageDraw.Draw(im)
    ink, w = (17, 17, 17, 255), 16 * k
    strokes = [[(88, 70), (150, 66), (196, 72), (170, 130), (140, 190), (122, 228)],
               [(112, 148), (186, 146)]]
    for s in strokes:
        pts = [(x * k, y * k) for x, y in s]
        d.line(pts, fill=ink, width=w, joint="curve")
        for x, y in (pts[0], pts[-1]):
            d.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=ink)
    im = im.resize((280, 280), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def phone_photo(seed: int = 12) -> bytes:
    """A 2309×1732 JPEG: a real photographed digit, cropped to 4:3 around its middle, resized,
    lit a little unevenly, softened and with sensor noise, saved at quality 90: 0.74 MB (the
    source, as sent from its phone, is 0.32 MB for 5.7 megapixels; the noise is what makes a
    photo's JPEG large, and the time to decode it grows with its size)."""
    src = Image.open(REAL / PHOTO_SOURCE).convert("RGB")
    w, h = src.size
    ch = round(w * 3 / 4)
    top = (h - ch) // 2
    im = src.crop((0, top, w, top + ch)).resize(PHOTO_SIZE, Image.Resampling.BILINEAR)
    a = np.asarray(im, np.float32)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:PHOTO_SIZE[1], 0:PHOTO_SIZE[0]].astype(np.float32)
    light = 0.9 + 0.15 * (xx / PHOTO_SIZE[0]) - 0.05 * (yy / PHOTO_SIZE[1])  # uneven light
    a = np.asarray(Image.fromarray(np.clip(a * light[..., None], 0, 255).astype(np.uint8))
                   .filter(ImageFilter.GaussianBlur(0.8)), np.float32)  # a phone's softness
    a += rng.normal(0.0, 5.0, a.shape).astype(np.float32)  # then its sensor noise
    buf = io.BytesIO()
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# ---- the server -----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_busy(seconds: float = 3.0) -> float:
    """Fraction of all CPUs busy (anyone's work) over `seconds`, from /proc/stat."""
    def snap() -> tuple[int, int]:
        f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(f[:8]), f[3] + f[4]  # total, idle + iowait
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def proc_status(pid: int, key: str) -> int:
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM), in bytes."""
    m = re.search(rf"^{key}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) * 1024 if m else 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tensorflow_mapped(pid: int) -> bool:
    """Whether any file of the tensorflow package is mapped into the process."""
    return "/site-packages/tensorflow/" in Path(f"/proc/{pid}/maps").read_text()


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    ready_s: float
    all_ready_s: float | None
    workers: list[int] = field(default_factory=list)


def start_server(model: str, workers: int, log: Path) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).with_name("digits")), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--model", model]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT)
    ready = None
    pids: set[int] = set()
    deadline = t0 + 60
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"digits serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            r = httpx.get(f"{url}/healthz", timeout=2)
            if r.status_code == 200 and r.json().get("ready"):
                # the pool's processes, started with the app (one worker: the server's own process)
                ready = ready or time.perf_counter() - t0
                pids.update(r.json().get("processes") or [r.json()["pid"]])
                if len(pids) >= workers:
                    break
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    if ready is None:
        proc.kill()
        raise SystemExit(f"digits serve was not ready within 60 s: {log.read_text()[-2000:]}")
    all_ready = time.perf_counter() - t0 if len(pids) >= workers else None
    return Server(proc, url, ready, all_ready, sorted(pids))


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(20)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


# ---- the load -------------------------------------------------------------------------------

def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs), q)) if xs else float("nan")


async def drive(url: str, body: bytes, ctype: str, want: int | None, clients: int, seconds: float,
                warmup: float, key: str = "digit") -> dict:
    """`clients` tasks each sending the body again as soon as the last answer came, for `seconds`
    after `warmup` seconds that are not counted. Latency is from send to the parsed answer."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Content-Type": ctype}
    lat: list[float] = []
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        phase = {"count": False}
        stop_at = time.perf_counter() + warmup + seconds

        async def one() -> None:
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                try:
                    r = await client.post(url, content=body, headers=headers)
                    data = r.json()
                    bad = (f"HTTP {r.status_code}" if r.status_code != 200
                           else None if want is None or str(data[0].get(key)) == str(want)
                           else f"answered {data[0].get(key)!r}, not {want}")
                except (httpx.HTTPError, ValueError) as exc:
                    bad = type(exc).__name__
                if phase["count"]:
                    lat.append(time.perf_counter() - t)
                    if bad:
                        errors[bad] = errors.get(bad, 0) + 1

        elapsed, client_cpu = await _clients(one, clients, warmup, phase)
    return _summary("httpx", clients, lat, errors, elapsed, client_cpu)


async def _clients(one: Callable[[], Awaitable[None]], clients: int, warmup: float,
                   phase: dict) -> tuple[float, float]:
    """Run `clients` copies of `one` to their end, counting from `warmup` seconds in:
    (seconds, the client's CPU seconds)."""
    tasks = [asyncio.create_task(one()) for _ in range(clients)]
    await asyncio.sleep(warmup)
    phase["count"] = True
    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*tasks)
    return time.perf_counter() - t0, time.process_time() - cpu0


def _summary(client: str, clients: int, lat: list[float], errors: dict[str, int], elapsed: float,
             client_cpu: float) -> dict:
    n = len(lat)
    ms = [x * 1000 for x in lat]
    return {"clients": clients, "client": client, "seconds": round(elapsed, 2), "requests": n,
            "rps": round(n / elapsed, 1), "p50_ms": round(percentile(ms, 50), 1),
            "p90_ms": round(percentile(ms, 90), 1), "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1) if ms else None, "errors": sum(errors.values()), "error_kinds": errors,
            "client_cpu_ms_per_request": round(1000 * client_cpu / max(1, n), 2)}


async def drive_raw(url: str, body: bytes, ctype: str, want: int | None, clients: int, seconds: float,
                    warmup: float, key: str = "digit") -> dict:
    """`drive` with a lean client: each of the `clients` tasks keeps one HTTP/1.1 connection
    (asyncio streams) and sends the same prepared request bytes again as soon as the answer
    has come, read by its Content-Length and parsed as JSON. httpx spends about 2 ms of CPU
    per request building and parsing messages; on a machine the client shares with the
    server, that CPU is taken from the server, as a load generator such as wrk does not."""
    host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", url).groups()
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {ctype}\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    lat: list[float] = []
    errors: dict[str, int] = {}
    phase = {"count": False}
    stop_at = time.perf_counter() + warmup + seconds

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                try:
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head.split(b" ", 2)[1])
                    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
                    data = json.loads(await reader.readexactly(length))
                    bad = (f"HTTP {status}" if status != 200
                           else None if want is None or str(data[0].get(key)) == str(want)
                           else f"answered {data[0].get(key)!r}, not {want}")
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                        AttributeError) as exc:
                    bad = type(exc).__name__
                if phase["count"]:
                    lat.append(time.perf_counter() - t)
                    if bad:
                        errors[bad] = errors.get(bad, 0) + 1
                if bad and not bad.startswith(("HTTP", "answered")):
                    return  # the connection is in an unknown state
        finally:
            writer.close()

    elapsed, client_cpu = await _clients(one, clients, warmup, phase)
    return _summary("raw asyncio HTTP/1.1", clients, lat, errors, elapsed, client_cpu)


def load(server: Server, path: str, body: bytes, ctype: str, want: int | None, clients: int, seconds: float,
         warmup: float, key: str = "digit", client: str = "raw") -> dict:
    """`drive`, with the server's CPU time over the same span: its HTTP process and its worker
    processes, and how the work was shared among the workers."""
    procs = sorted({server.proc.pid, *server.workers})
    cpu0 = {p: cpu_seconds(p) for p in procs}
    out = asyncio.run((drive_raw if client == "raw" else drive)(server.url + path, body, ctype, want, clients,
                                                                 seconds, warmup, key))
    per = {p: cpu_seconds(p) - c for p, c in cpu0.items()}
    cpu = sum(per.values())
    work = [per[p] for p in server.workers if p != server.proc.pid]
    out["server_cpu_share_per_worker"] = [round(v / sum(work), 2) if sum(work) else None for v in work]
    out["http_process_cpu_share"] = round(per[server.proc.pid] / cpu, 2) if cpu else None
    # The warm-up's requests are in the workers' CPU time but not in the count: prorate.
    out["server_cpu_ms_per_request"] = round(1000 * cpu * out["seconds"] / (out["seconds"] + warmup)
                                             / max(1, out["requests"]), 2)
    return out


def page_weight(url: str) -> dict:
    """`GET /` and every asset index.html references (script src, link href, img src)."""
    with httpx.Client(base_url=url, timeout=30) as c:
        html = c.get("/")
        refs = re.findall(r"<(?:script|img|source|link)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", html.text)
        assets = {"/": len(html.content)}
        for ref in refs:
            if ref.startswith("data:"):
                continue  # inline: already counted in the page
            if re.match(r"^[a-z]+://", ref):
                assets[ref] = -1  # a reference off the server: must not happen
                continue
            r = c.get(ref)
            assets[ref] = len(r.content) if r.status_code == 200 else -r.status_code
    total = sum(v for v in assets.values() if v > 0)
    return {"bytes": total, "kb": round(total / 1000, 1), "assets": assets,
            "external": [k for k, v in assets.items() if v == -1],
            "note": "response bodies as sent (no compression); <a href> links are not loaded and not counted"}


# ---- where the time goes ----------------------------------------------------------------------

def breakdown(model_path: str, data: bytes, reps: int) -> dict:
    """Medians in ms, one thread, of each step of `predict_uploads` for one upload."""
    from digits.loading import load_model
    from digits.recognize.normalize import load_image_bytes, normalize
    from digits.serve.app import SerialModel
    from digits.serve.work import Upload, png_data_url, predict_uploads

    model = SerialModel(load_model(model_path))
    steps: dict[str, list[float]] = {"load_image_bytes": [], "normalize": [], "model.predict": [],
                                     "explain_png": [], "predict_uploads (all of it)": []}
    up = [Upload("x", data)]
    for _ in range(5):  # warm caches and the interpreter
        predict_uploads(model, up, 0.7, True)
    for _ in range(reps):
        t0 = time.perf_counter()
        im = load_image_bytes(data)
        t1 = time.perf_counter()
        x = normalize(im)
        t2 = time.perf_counter()
        model.predict(x[None])
        t3 = time.perf_counter()
        png_data_url(x)
        t4 = time.perf_counter()
        predict_uploads(model, up, 0.7, True)
        t5 = time.perf_counter()
        for k, dt in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            steps[k].append(dt * 1000)
    out = {k: round(statistics.median(v), 3) for k, v in steps.items()}
    out["reps"] = reps
    out["decoded"] = f"{im.size[0]}x{im.size[1]} {im.mode}"
    return out


def start_breakdown(model_path: str, runs: int = 3) -> dict:
    """Where the start goes: importing the app in a fresh process, and `create_app` (the model
    loaded, its sha256), medians of `runs` fresh processes."""
    code = ("import json, time; t0 = time.perf_counter(); import digits.serve.app as a; t1 = time.perf_counter(); "
            f"a.create_app({model_path!r}); t2 = time.perf_counter(); "
            "print(json.dumps([t1 - t0, t2 - t1]))")
    got = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     cwd=ROOT).stdout.strip().splitlines()[-1]) for _ in range(runs)]
    return {"import_digits_serve_app_s": round(statistics.median(g[0] for g in got), 3),
            "create_app_s": round(statistics.median(g[1] for g in got), 3), "runs": runs,
            "note": "`digits serve` imports digits.serve.app and calls create_app in its one process; with "
                    "--workers N the app's start then spawns N worker processes, each loading the model"}


# ---- the report ----------------------------------------------------------------------------

def met(key: str, value: float | None) -> bool | None:
    if value is None:
        return None
    op, target = TARGETS[key]
    return value >= target if op == ">=" else value <= target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/model.tflite")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds of each load (default 15)")
    ap.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds before each (default 2)")
    ap.add_argument("--canvas-clients", type=int, default=32)
    ap.add_argument("--photo-clients", type=int, default=2)
    ap.add_argument("--reps", type=int, default=200, help="repetitions of the in-process breakdown")
    ap.add_argument("--out", default=str(ROOT / "bench/results/serve_load.json"))
    args = ap.parse_args()
    os.chdir(ROOT)

    from digits.loading import load_model
    from digits.serve.app import SerialModel
    from digits.serve.work import Upload, predict_uploads

    canvas, photo = canvas_png(), phone_photo()
    model = SerialModel(load_model(args.model))
    want_canvas = predict_uploads(model, [Upload("c", canvas)], 0.7, False)[0]
    want_photo = predict_uploads(model, [Upload("p", photo)], 0.7, False)[0]
    del model
    print(f"serve_load: canvas 280x280 RGBA PNG, {len(canvas):,} bytes, reads {want_canvas.get('digit')}; "
          f"photo {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG, {len(photo):,} bytes, reads {want_photo.get('digit')} "
          f"(label 4)", flush=True)

    busy = cpu_busy()
    print(f"serve_load: CPUs {100 * busy:.0f}% busy before the start"
          + ("  (NOT QUIET: figures will be low)" if busy > 0.1 else ""), flush=True)

    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"serve_load.{os.getpid()}.log"
    server = start_server(args.model, args.workers, log)
    print(f"serve_load: {server.url} ready in {server.ready_s:.2f} s (all {args.workers} workers "
          f"{server.all_ready_s:.2f} s); workers {server.workers}", flush=True)
    try:
        page = page_weight(server.url)
        health = httpx.get(f"{server.url}/healthz", timeout=10).json()
        print(f"serve_load: canvas, {args.canvas_clients} clients, {args.seconds:g} s ...", flush=True)
        a = load(server, "/api/predict?explain=1&name=drawing.png", canvas, "image/png", want_canvas.get("digit"),
                 args.canvas_clients, args.seconds, args.warmup)
        print(f"serve_load: canvas again with the httpx client (as before), {args.seconds:g} s ...", flush=True)
        a_httpx = load(server, "/api/predict?explain=1&name=drawing.png", canvas, "image/png",
                       want_canvas.get("digit"), args.canvas_clients, args.seconds, args.warmup, client="httpx")
        a_read = None
        if health.get("read"):
            print(f"serve_load: canvas to /api/read, {args.canvas_clients} clients, {args.seconds:g} s ...",
                  flush=True)
            a_read = load(server, "/api/read?explain=1&name=drawing.png", canvas, "image/png",
                          want_canvas.get("digit"), args.canvas_clients, args.seconds, args.warmup, key="number")
        print(f"serve_load: photo, {args.photo_clients} clients, {args.seconds:g} s ...", flush=True)
        b = load(server, "/api/predict?name=photo.jpg", photo, "image/jpeg", want_photo.get("digit"),
                 args.photo_clients, args.seconds, args.warmup)
        rss = {str(p): {"rss_mb": round(proc_status(p, "VmRSS") / 1e6, 1),
                        "peak_rss_mb": round(proc_status(p, "VmHWM") / 1e6, 1),
                        "tensorflow_mapped": tensorflow_mapped(p)} for p in server.workers}
        rss["server"] = {"rss_mb": round(proc_status(server.proc.pid, "VmRSS") / 1e6, 1),
                             "note": "the server's own process: HTTP, and the model for /healthz"}
        alive = server.proc.poll() is None and httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
    finally:
        stop_server(server)
    print(f"serve_load: breakdown, {args.reps} repetitions in-process ...", flush=True)
    where = {"canvas_png": breakdown(args.model, canvas, args.reps),
             "phone_photo": breakdown(args.model, photo, max(20, args.reps // 4))}
    for name, run in (("canvas_png", a), ("phone_photo", b)):
        # What the in-process steps do not explain: HTTP, multipart/body reading, FastAPI, JSON, access log.
        where[name]["server_cpu_per_request"] = run["server_cpu_ms_per_request"]
        where[name]["http_and_framework (server CPU per request - predict_uploads)"] = round(
            run["server_cpu_ms_per_request"] - where[name]["predict_uploads (all of it)"], 2)
        where[name]["client_cpu_per_request"] = run["client_cpu_ms_per_request"]
    start = start_breakdown(args.model)

    worker_rss = [v["rss_mb"] for k, v in rss.items() if k != "server"]
    figures = {"canvas_rps": a["rps"], "canvas_p99_ms": a["p99_ms"], "canvas_errors": a["errors"],
               "photo_rps": b["rps"], "photo_p50_ms": b["p50_ms"], "start_to_ready_s": round(server.ready_s, 2),
               "rss_per_worker_mb": max(worker_rss) if worker_rss else None, "page_first_load_kb": page["kb"]}
    result = {
        "command": " ".join(["python bench/serve_load.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
                    "cpu_busy_before_start": round(busy, 3), "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
        "server": {"workers": args.workers, "model": args.model, "sha256": health.get("sha256"),
                   "versions": health.get("versions"), "start_to_ready_s": round(server.ready_s, 3),
                   "all_workers_ready_s": server.all_ready_s and round(server.all_ready_s, 3),
                   "start_breakdown": start,
                   "healthy_after_load": alive},
        "canvas_png": {"image": f"280x280 RGBA PNG, {len(canvas)} bytes",
                       "request": "POST /api/predict?explain=1, raw image/png body (as the page sends a drawing)",
                       **a},
        "canvas_png_httpx_client": {"note": "the same load driven by httpx, the client of earlier runs: its "
                                            "CPU is taken from the server", **a_httpx},
        "canvas_png_read": a_read and {"request": "POST /api/read?explain=1, the same drawing (what the page asks "
                                                  "when reading numbers is installed); no target", **a_read},
        "phone_photo": {"image": f"{PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEG q90 from {PHOTO_SOURCE}, {len(photo)} bytes",
                        "request": "POST /api/predict, raw image/jpeg body", **b},
        "rss_after_load": rss,
        "page_first_load": page,
        "where_the_time_goes_ms_median": where,
        "targets": {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()},
        "figures": figures,
        "met": {k: met(k, v) for k, v in figures.items()},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    report(result)
    print(f"serve_load: wrote {os.path.relpath(args.out)}")


def _cpu_model() -> str:
    m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    return m.group(1).strip() if m else platform.processor()


def report(r: dict) -> None:
    a, b, ok = r["canvas_png"], r["phone_photo"], r["met"]

    def mark(k: str) -> str:
        return {True: "met", False: "NOT MET", None: "?"}[ok[k]]

    rows = [
        ("canvas PNG 280x280, 32 clients: requests/s", f"{a['rps']:.0f}", "≥ 250", mark("canvas_rps")),
        ("  p50 / p90 / p99 latency", f"{a['p50_ms']:.0f} / {a['p90_ms']:.0f} / {a['p99_ms']:.0f} ms",
         "p99 ≤ 100 ms", mark("canvas_p99_ms")),
        ("  errors", f"{a['errors']} of {a['requests']}", "0", mark("canvas_errors")),
        ("phone photo 4 MP JPEG, 2 clients: requests/s", f"{b['rps']:.1f}", "≥ 25", mark("photo_rps")),
        ("  p50 latency (p99)", f"{b['p50_ms']:.0f} ms ({b['p99_ms']:.0f} ms)", "≤ 120 ms", mark("photo_p50_ms")),
        ("  errors", f"{b['errors']} of {b['requests']}", "-", ""),
        ("server start to ready (both workers)",
         f"{r['server']['start_to_ready_s']:.2f} s ({r['server']['all_workers_ready_s']:.2f} s)", "≤ 2 s",
         mark("start_to_ready_s")),
        ("RSS per worker after the load (peak)",
         ", ".join(f"{v['rss_mb']:.0f} ({v['peak_rss_mb']:.0f})" for k, v in r["rss_after_load"].items()
                   if k != "server") + " MB", "≤ 250 MB", mark("rss_per_worker_mb")),
        ("page first load (/ + assets)", f"{r['page_first_load']['kb']:.1f} kB", "≤ 300 kB",
         mark("page_first_load_kb")),
    ]
    h = r["canvas_png_httpx_client"]
    rows.insert(3, ("  the same with the httpx client (reference)",
                    f"{h['rps']:.0f}/s, p50 {h['p50_ms']:.0f}, p99 {h['p99_ms']:.0f} ms, {h['errors']} errors",
                    "", ""))
    if r["canvas_png_read"]:
        c = r["canvas_png_read"]
        rows.insert(3, ("canvas PNG to /api/read (the page's endpoint with read)",
                        f"{c['rps']:.0f}/s, p50 {c['p50_ms']:.0f}, p99 {c['p99_ms']:.0f} ms, {c['errors']} errors",
                        "(none)", ""))
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    head = ("figure", "measured", "target", "")
    print()
    print("  ".join(h.ljust(n) for h, n in zip(head, w, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(n) for c, n in zip(row, w, strict=True)))
    print(f"\nCPU per request (ms): canvas server {a['server_cpu_ms_per_request']}, client "
          f"{a['client_cpu_ms_per_request']}; photo server {b['server_cpu_ms_per_request']}, client "
          f"{b['client_cpu_ms_per_request']}  ({r['machine']['cpus']} CPUs, "
          f"{100 * r['machine']['cpu_busy_before_start']:.0f}% busy before the start)")
    print(f"server CPU shared by the workers: canvas {a['server_cpu_share_per_worker']}, "
          f"photo {b['server_cpu_share_per_worker']}")
    for name, steps in r["where_the_time_goes_ms_median"].items():
        parts = ", ".join(f"{k} {v:.2f}" for k, v in steps.items() if isinstance(v, float))
        print(f"where the time goes, {name} ({steps['decoded']}, median ms of {steps['reps']}, one thread): {parts}")
    st = r["server"]["start_breakdown"]
    print(f"where the start goes: import digits.serve.app {st['import_digits_serve_app_s']:.2f} s in a fresh "
          f"process, create_app {st['create_app_s']:.2f} s ({st['note']})")


if __name__ == "__main__":
    main()
