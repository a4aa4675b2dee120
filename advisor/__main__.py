"""``python -m advisor`` runs the command line."""

from .cli import app

app(prog_name="tinyml-advisor")
