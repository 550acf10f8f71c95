"""Subcommands of ``pflow-geo``; see :mod:`pflow_geo.cli`."""
