"""`digits serve`: a web page to draw, upload or photograph digits, and an HTTP API, both
answered by the recogniser (digits.recognize) through FastAPI on uvicorn.

README: "Serving: a web page and an HTTP API".
"""

MB = 1_000_000
