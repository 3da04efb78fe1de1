"""The `torchlite` command line (installed as the package `torchlite_cli`)."""
