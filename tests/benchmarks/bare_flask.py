"""The yardstick of tests/benchmarks/test_bench_pages.py: a bare Flask JSON endpoint, served like the app."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return {"status": "ok"}
