"""`python -m torchlite_cli`: the same app as the `torchlite` command."""

from .main import app

app(prog_name="torchlite")
