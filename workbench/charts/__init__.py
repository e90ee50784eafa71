"""Plotly figures for the dashboard, built by pure functions from plain data.

Every function here takes numbers and names (never a store, a run record or a Gradio object) and
returns a ``plotly.graph_objects.Figure``, so the figures can be tested, reused in notebooks and
shown by any front end.
"""
