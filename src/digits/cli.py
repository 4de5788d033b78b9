"""The `digits` command. Each subcommand is an `add_*` function registering its parser and
handler; adding one means writing that function and listing it in SUBCOMMANDS.

Exit status: 0 success, 1 a failure (for predict: any input without a prediction),
2 a usage error (argparse).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from digits.errors import DigitsError, one_line

# Heavy modules (numpy, Pillow, LiteRT, Keras) are imported inside the handlers, so
# `digits --help` and every other subcommand stay instant. Hence this copy of
# digits.recognize.predict.DEFAULT_THRESHOLD (a test keeps the two equal).
PREDICT_THRESHOLD = 0.7


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def _image_options(p: argparse.ArgumentParser, json_help: str, threshold_help: str) -> None:
    """The inputs and options `predict` and `read` share."""
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or directories")
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--model", metavar="PATH",
                   help=".tflite or .keras model (default: $DIGITS_MODEL, else models/model.tflite)")
    p.add_argument("--threshold", type=_probability, default=PREDICT_THRESHOLD, metavar="P",
                   help=f"{threshold_help} (default {PREDICT_THRESHOLD})")


def _print_results(results: Iterable[Any], as_json: bool) -> int:
    """Print each result (text errors to stderr) in input order; 1 if any is an error."""
    failed = False
    if as_json:
        objs = []
        for r in results:
            failed |= r.error is not None
            objs.append(json.dumps(r.to_json()))
        # One object per line: still one JSON array, and easy to grep.
        print("[" + ",\n ".join(objs) + "]")
    else:
        for r in results:
            if r.error is not None:
                failed = True
                sys.stdout.flush()  # keep the two streams in input order on a terminal
                print(r.to_text(), file=sys.stderr, flush=True)
            else:
                print(r.to_text(), flush=True)
    return 1 if failed else 0


def add_predict(sub: argparse._SubParsersAction) -> None:
    """`digits predict IMAGE_OR_DIR...`"""
    p = sub.add_parser(
        "predict", help="predict the handwritten digit in image files",
        description="Print the predicted digit and its confidence for each image. Directories "
                    "are scanned (not recursively) for .png .jpg .jpeg .bmp .gif .tif .tiff .webp "
                    "files. Exit status 1 if any input could not be predicted.")
    _image_options(p, "print a JSON array with one object per input instead of text lines",
                   "mark predictions with confidence below P as uncertain")
    p.set_defaults(handler=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    """Predict every input; results go to stdout (text errors to stderr) in input order."""
    from digits.loading import load_model, resolve_model_path
    from digits.recognize.predict import predict_paths

    model = load_model(resolve_model_path(args.model))
    return _print_results(predict_paths(model, args.inputs, args.threshold), args.json)


def add_read(sub: argparse._SubParsersAction) -> None:
    """`digits read IMAGE_OR_DIR...`"""
    p = sub.add_parser(
        "read", help="read a handwritten number (a line of digits, or each line of a page) in image files",
        description="Print the number read in each image, left to right, with the lowest of its "
                    "digits' confidences. Digits may be of different sizes, slanted, broken or "
                    "touching. A page of several lines (a column of figures) is read line by line: "
                    "FILE: 120 / 45 / 1999. Directories are scanned as for predict. "
                    "Exit status 1 if any input could not be read.")
    _image_options(p, "print a JSON array with one object per input (number, lines, digits with boxes)",
                   "mark a number uncertain if any digit's confidence is below P")
    p.set_defaults(handler=run_read)


def run_read(args: argparse.Namespace) -> int:
    """Read every input; results go to stdout (text errors to stderr) in input order."""
    from digits.loading import load_model, resolve_model_path
    from digits.recognize.read import read_paths

    model = load_model(resolve_model_path(args.model))
    return _print_results(read_paths(model, args.inputs, args.threshold), args.json)


def add_check_metrics(sub: argparse._SubParsersAction) -> None:
    """`digits check-metrics [--baseline REV]`"""
    p = sub.add_parser(
        "check-metrics", help="fail if the workspace metrics regress or fall below a floor",
        description="Compare the workspace metrics with the absolute floors in the gate file and "
                    "with a baseline git revision (through `dvc metrics diff`). Prints a table; "
                    "exit status 1 on any regression beyond tolerance or floor breach.")
    p.add_argument("--baseline", default="HEAD", metavar="REV",
                   help="git revision to compare against (default HEAD); 'none' checks floors only")
    p.add_argument("--gate", default="gate.yaml", metavar="FILE", help="floors and tolerances (default gate.yaml)")
    p.add_argument("--params", default="params.yaml", metavar="FILE",
                   help="params file naming the model whose floors apply (default params.yaml)")
    p.add_argument("--repo", default=".", metavar="DIR", help="project root (default: current directory)")
    p.set_defaults(handler=run_check_metrics)


def run_check_metrics(args: argparse.Namespace) -> int:
    """Run the gate in the project at --repo."""
    from pathlib import Path

    from digits.review.gate import run

    baseline = None if args.baseline.lower() == "none" else args.baseline
    return run(gate_file=args.gate, params_file=args.params, baseline=baseline, cwd=Path(args.repo).resolve())


def add_report(sub: argparse._SubParsersAction) -> None:
    """`digits report [--baseline REV] [-o report.md]`"""
    p = sub.add_parser(
        "report", help="the metrics gate, params, per-class F1, benchmarks and plots as Markdown",
        description="Write a GitHub-flavoured Markdown report for a pull request: the verdict of "
                    "`digits check-metrics` first, the metrics against the baseline, changed params, "
                    "per-class F1 that moved, the wild and numbers benchmarks, the confusion matrix "
                    "and training curves. Exit status 0 once written, whatever the verdict "
                    "(`digits check-metrics` is what fails a build).")
    p.add_argument("--baseline", default="HEAD", metavar="REV",
                   help="git revision to compare against (default HEAD); 'none': floors only")
    p.add_argument("-o", "--out", metavar="FILE",
                   help="write the report here, the images copied beside it (default: print it)")
    p.add_argument("--gate", default="gate.yaml", metavar="FILE", help="floors and tolerances (default gate.yaml)")
    p.add_argument("--params", default="params.yaml", metavar="FILE",
                   help="params file naming the model whose floors apply (default params.yaml)")
    p.add_argument("--repo", default=".", metavar="DIR", help="project root (default: current directory)")
    p.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Write (or print) the report for the project at --repo."""
    from pathlib import Path

    from digits.review.report import run

    baseline = None if args.baseline.lower() == "none" else args.baseline
    return run(gate_file=args.gate, params_file=args.params, baseline=baseline, cwd=Path(args.repo).resolve(),
               out=args.out)


def add_plots(sub: argparse._SubParsersAction) -> None:
    """`digits plots {show,diff} [REV...] [-o DIR]`"""
    p = sub.add_parser(
        "plots", help="`dvc plots show`/`diff` as an HTML page that draws offline",
        description="Run `dvc plots show` (the workspace) or `dvc plots diff REV...` with an HTML "
                    "template that loads Vega, Vega-Lite and Vega-Embed from a local copy "
                    "(vega-bundle.js, from the vl-convert-python package, written beside index.html) "
                    "instead of a CDN, so the plots draw without internet.")
    p.add_argument("action", choices=("show", "diff"), help="show: the workspace; diff: revisions compared")
    p.add_argument("revisions", nargs="*", metavar="REV",
                   help="for diff: git revisions or experiment names (default: workspace vs HEAD)")
    p.add_argument("-o", "--out", default="dvc_plots", metavar="DIR", help="output directory (default dvc_plots)")
    p.set_defaults(handler=run_plots)


def run_plots(args: argparse.Namespace) -> int:
    """Render the plots page; the path is printed."""
    from digits.review.offline_plots import render

    render(args.action, args.revisions, args.out)
    return 0


def _positive(kind: type) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {value}")
        return value
    return parse


def add_serve(sub: argparse._SubParsersAction) -> None:
    """`digits serve [--host H] [--port P] [--model PATH] [--workers N] [--max-mb MB]`"""
    p = sub.add_parser(
        "serve", help="a web page to draw, upload or photograph digits, and an HTTP API",
        description="Serve the page at / (draw, upload or photograph digits), POST /api/predict and "
                    "POST /api/read (answering the JSON of `digits predict --json` and `digits read "
                    "--json`), GET /healthz, and the OpenAPI docs at /docs. Each worker process loads "
                    "the model once. Stop with Ctrl+C.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: the LAN too)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--model", metavar="PATH",
                   help=".tflite or .keras model (default: $DIGITS_MODEL, else models/model.tflite)")
    p.add_argument("--workers", type=_positive(int), default=1, metavar="N",
                   help="worker processes, each with its own model, taking requests as they come "
                        "(default 1: threads of the server's process)")
    p.add_argument("--max-mb", type=_positive(float), default=10.0, metavar="MB",
                   help="largest request body, all files together, in MB (default 10)")
    p.add_argument("--threshold", type=_probability, default=PREDICT_THRESHOLD, metavar="P",
                   help=f"mark answers with confidence below P as uncertain (default {PREDICT_THRESHOLD})")
    p.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Run uvicorn until interrupted; the model is checked before the port is opened."""
    import uvicorn

    from digits.loading import resolve_model_path
    from digits.serve import MB
    from digits.serve.app import create_app

    path = resolve_model_path(args.model)
    max_bytes = round(args.max_mb * MB)
    print(f"digits serve: http://{args.host}:{args.port}/ with {path} ({args.workers} worker"
          f"{' processes' if args.workers > 1 else ''}); Ctrl+C stops", file=sys.stderr, flush=True)
    # One worker: the work runs in threads of this process. More: in a pool of that many
    # processes, each request to the next free one (not uvicorn's workers, which divide
    # connections, so that a few keep-alive clients can leave all but one idle).
    uvicorn.run(create_app(path, max_bytes=max_bytes, threshold=args.threshold,
                           processes=args.workers if args.workers > 1 else 0),
                host=args.host, port=args.port)
    return 0


SUBCOMMANDS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (
    add_predict, add_read, add_check_metrics, add_report, add_plots, add_serve)


def build_parser() -> argparse.ArgumentParser:
    """The `digits` parser with every subcommand registered."""
    parser = argparse.ArgumentParser(prog="digits", description="Handwritten digit recognition.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `digits` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except DigitsError as exc:
        print(f"digits {args.command}: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"digits {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `digits predict dir | head`: the reader left; exit quietly like other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
