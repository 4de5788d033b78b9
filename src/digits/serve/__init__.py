"""`digits serve`: a web page to draw, upload or photograph digits, and an HTTP API, both
answered by the recogniser (digits.recognize) through FastAPI on uvicorn.

README: "Serving: a web page and an HTTP API".
"""

# Settings `digits serve --workers N` hands each worker process through the environment (read
# by `digits.serve.app.app_from_env`); here, not in app, so the parent process never imports
# FastAPI: with several workers only they do, which halves the time to ready.
ENV_MODEL, ENV_MAX_BYTES, ENV_THRESHOLD = "DIGITS_SERVE_MODEL", "DIGITS_SERVE_MAX_BYTES", "DIGITS_SERVE_THRESHOLD"
MB = 1_000_000
