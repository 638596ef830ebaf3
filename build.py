#!/usr/bin/env python3
"""Entry point: `python build.py build|check` (see `python build.py --help`)."""

from ihv_archive.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
