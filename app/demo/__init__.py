"""Demo data: logins for `make run` (seed.py) and the synthetic nation (nation.py, plan.py, generate.py)."""

from app.demo.cli import register_demo_cli

__all__ = ["register_demo_cli"]
