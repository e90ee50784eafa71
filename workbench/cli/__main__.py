"""``python -m workbench.cli`` runs the command line."""

from workbench.cli import command_line

command_line()
