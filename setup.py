"""Which packages the distribution holds, and where their files are.

- ``workbench`` and its subpackages, from the repository root;
- the built-in plugins (``workbench_gpt``, ...) and the library they share,
  ``workbench_synthetic`` (no entry point: it registers nothing), from ``plugins/``;
- ``workbench_hf/shipped_lm_eval_tasks/``: the lm-eval task folder the ``hf`` plugin ships;
- ``workbench._migrations``: the repository-root ``alembic/`` folder (``env.py``,
  ``script.py.mako``, ``versions/``), shipped inside the wheel so that an installed workbench
  can migrate its database; :func:`workbench.store.db.migrations_dir` finds it with
  ``importlib.resources``. The folder keeps its name and has no ``__init__.py`` (one would
  shadow the alembic library), so Alembic's own CLI and ``alembic.ini`` work from a checkout.
- ``workbench._configs``: the repository-root ``configs/*.yaml``, the starting points the
  dashboard's New run tab offers (:mod:`workbench.starters`).

Everything else (metadata, dependencies, entry points) is in pyproject.toml.
"""

from setuptools import find_packages, setup

MIGRATIONS = {
    "workbench._migrations": "alembic",
    "workbench._migrations.versions": "alembic/versions",
}
CONFIGS = {"workbench._configs": "configs"}

core = find_packages(where=".", include=["workbench", "workbench.*"])
plugins = find_packages(where="plugins", include=["workbench_*"])

setup(
    packages=[*core, *plugins, *MIGRATIONS, *CONFIGS],
    package_dir={
        **{name: "plugins/" + name.replace(".", "/") for name in plugins},
        **MIGRATIONS,
        **CONFIGS,
    },
    package_data={
        "workbench._migrations": ["script.py.mako"],
        "workbench._configs": ["*.yaml"],
        # The hf plugin's shipped lm-eval task folder (YAML, JSONL and its utils.py).
        "workbench_hf": ["shipped_lm_eval_tasks/*"],
    },
)
