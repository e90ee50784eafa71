#!/usr/bin/env bash
# Download, into .whl/ (git-ignored), the wheels a bare GPU machine with PyTorch and Lightning
# lacks to run the workbench's GPU checks (benchmarks/gpu_checks.sh): pydantic and the store's
# SQLAlchemy + Alembic, for CPython 3.12 on x86-64 Linux. Needs the package index; run it on a
# machine that has one, then copy .whl/ along with the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
    "pydantic==2.14.4" "pydantic-core==2.50.5" "annotated-types==0.7.0" \
    "typing-inspection==0.4.5" "sqlalchemy==2.1.9" "alembic==1.20.1" "mako==1.4.3" \
    "markupsafe==3.0.4" "greenlet==3.5.6"
ls -1 .whl
