"""Plotly figures built by pure functions from plain data, shared by the CLI and the UI."""
