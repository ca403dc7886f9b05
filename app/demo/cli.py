"""`flask demo …`: demo logins for `make run` (seed) and the synthetic nation for benchmarks and demos (generate)."""

from __future__ import annotations

import click
from flask import Flask

from app.demo.generate import DEFAULT_SEED, SCALES, GenerateRefused, generate
from app.demo.seed import seed_demo


def register_demo_cli(app: Flask) -> None:
    @app.cli.group("demo")
    def demo():
        """Demo data for development."""

    @demo.command("seed")
    def seed():
        for where, email, password in seed_demo():
            click.echo(f"{where:28} {email:34} {password}")

    @demo.command("generate")
    @click.option("--scale", type=click.Choice(sorted(SCALES)), default="national", show_default=True)
    @click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Same seed, same data.")
    @click.option(
        "--factor", type=float, default=1.0, show_default=True, help="Multiply every count (0.01: a quick run)."
    )
    @click.option("--provinces", type=click.IntRange(1, 30), help="Only the first N synthetic provinces.")
    @click.option("--producers", type=click.IntRange(1), help="Total producers (overrides the scale).")
    @click.option("--products", type=click.IntRange(1), help="Total products.")
    @click.option("--certificates", type=click.IntRange(0), help="Total certificates (chains of 1–3).")
    @click.option("--documents", type=click.IntRange(0), help="Total document records (metadata).")
    @click.option(
        "--objects",
        type=click.IntRange(0, 100),
        default=2,
        show_default=True,
        help="Real files in storage per province.",
    )
    @click.option(
        "--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="The day the data describes (default today)."
    )
    @click.option(
        "--jobs", type=click.IntRange(1, 8), default=2, show_default=True, help="Connections writing at once."
    )
    @click.option("--verbose", is_flag=True, help="Also print the seconds of each phase.")
    @click.option("--replace", is_flag=True, help="Wipe the synthetic provinces' data first (never the 4 real ones).")
    def generate_command(
        scale,
        seed,
        factor,
        provinces,
        producers,
        products,
        certificates,
        documents,
        objects,
        as_of,
        replace,
        jobs,
        verbose,
    ):
        """A synthetic nation (30 provinces `demo-*` beside the 4 real ones) or one large province."""
        chosen = SCALES[scale].times(factor) if factor != 1.0 else SCALES[scale]
        overrides = {
            "producers": producers,
            "products": products,
            "certificates": certificates,
            "documents": documents,
            "provinces": provinces,
        }
        from dataclasses import replace as with_values

        chosen = with_values(chosen, **{k: v for k, v in overrides.items() if v is not None})
        try:
            report = generate(
                chosen,
                seed=seed,
                as_of=as_of.date() if as_of else None,
                replace=replace,
                objects_per_province=objects,
                jobs=jobs,
            )
        except (GenerateRefused, ValueError) as error:
            raise click.ClickException(str(error)) from error
        click.echo(
            f"{len(report.provinces)} synthetic provinces in {report.seconds:.1f} s (seed {seed}; CPU: this process "
            f"{report.cpu_seconds:.1f} s, PostgreSQL {report.server_cpu_seconds:.1f} s)"
        )
        if report.replaced:
            click.echo(f"  wiped first: {report.replaced} rows")
        for table, rows in report.rows.items():
            click.echo(f"  {table:24} {rows:>9,}")
        click.echo(f"  {'objects in storage':24} {report.objects:>9,}")
        if report.objects_error:
            click.echo(f"warning: no sample file was stored ({report.objects_error})", err=True)
        if verbose:
            for phase, seconds in report.timings.most_common():
                click.echo(f"  {phase:36} {seconds:6.1f} s")
