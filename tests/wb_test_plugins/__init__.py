"""Plugins used only by the tests (loaded through $WORKBENCH_PLUGIN_MODULES)."""
