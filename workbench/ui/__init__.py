"""The Gradio dashboard: one module per tab, composed by :mod:`workbench.ui.app`."""
