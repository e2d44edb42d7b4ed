"""The ``omscds`` command line (Typer + Rich). One module per subcommand; no clinical logic."""
