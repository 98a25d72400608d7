"""Command-line interface (typer + rich). `main.run` is the `aitrader` entry point."""
