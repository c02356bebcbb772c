"""A bare Flask app that answers "hello": the baseline bench/deployment.py compares the app with."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The least a Flask view can do."""
    return "hello"
