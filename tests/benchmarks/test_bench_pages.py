"""Key pages against a bare Flask endpoint, both under gunicorn (2 sync workers), same run (`make bench`).

Each page and the bare endpoint are loaded in alternating rounds (16 connections, ROUND_SECONDS each,
ROUNDS times) with ApacheBench (`ab`, apt package apache2-utils); the figure is the page's median
req/s as a share of the bare endpoint's, with p50/p95 latency and the statements per request (counted
in-process with SQLAlchemy events, tests/test_query_counts.py). Each page twice: as served (a page
seen again comes from the whole-page cache, app/auth/page_cache.py) and rendered every time (a second
server with the cache off, OCOP_PAGE_CACHE=0: a page's cost after each change of its province). The
data: the largest province of the national generator when `flask demo generate` exists, else one province of 20,000 products and 5,000
producers built set-wise (tests/factories.py bulk_products). Prints a Markdown table for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from tests.conftest import PASSWORD, ROOT, create_user
from tests.factories import bulk_products, new_tenant
from tests.test_query_counts import counted

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
ROUND_SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
AIM_SHARE, AIM_P95_MS, AIM_QUERIES = 25.0, 100.0, 6

pytestmark = [
    pytest.mark.skipif(shutil.which("ab") is None, reason="needs ab (apt-get install apache2-utils)"),
    pytest.mark.timeout(2400),  # ROUNDS × 6 pages × 3 servers × ROUND_SECONDS, plus the generator
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gunicorn(target: str, env: dict, chdir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", target],
        cwd=chdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            requests.get(f"{base}/healthz" if "wsgi" in target else base, timeout=5)
            return process, base
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn {target} did not start")


def _ab(url: str, cookie: str | None) -> dict:
    args = ["ab", "-c", str(CONNECTIONS), "-t", str(ROUND_SECONDS), "-n", "10000000"]
    if cookie:
        args += ["-C", cookie]
    done = subprocess.run([*args, url], capture_output=True, text=True)
    out = done.stdout
    assert "Requests per second" in out, done.stdout + done.stderr
    failed = int(re.search(r"Failed requests:\s+(\d+)", out).group(1))
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    assert failed == 0 and non_2xx is None, out
    return {
        "rps": float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1)),
        "p50": float(re.search(r"\s50%\s+(\d+)", out).group(1)),
        "p95": float(re.search(r"\s95%\s+(\d+)", out).group(1)),
    }


def _province(app, cli_runner) -> tuple[int, str]:
    """The bench's province: the generator's largest when it exists, else one built here."""
    from tenants.context import system_scope

    if "generate" in (app.cli.commands.get("demo").commands if app.cli.commands.get("demo") else {}):
        result = cli_runner.invoke(args=["demo", "generate", "--scale", "province"])
        assert result.exit_code == 0, result.output
        # The generator ANALYZEs what it wrote (as the owner): the planner sees the province as it is.
        from app.registry.models import Product
        from tenants.models import Tenant

        with app.app_context(), system_scope():
            # The roll-up role reads across tenants; the web role under system scope sees tenants only.
            tenants = db.session.execute(select(Tenant.id, Tenant.slug)).all()
        best = None
        for tenant_id, slug in tenants:
            from tenants.context import tenant_scope

            with app.app_context(), tenant_scope(tenant_id):
                n = db.session.scalar(select(func.count(Product.id)))
            if best is None or n > best[0]:
                best = (n, tenant_id, slug)
        return best[1], best[2]
    tenant_id, slug = new_tenant(app)
    bulk_products(app, tenant_id, producers=5000, per_producer=4)
    return tenant_id, slug


def _session_cookie(base: str, slug: str, email: str) -> str:
    http = requests.Session()
    page = http.get(f"{base}/{slug}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = http.post(
        f"{base}/{slug}/login", data={"csrf_token": token, "email": email, "password": PASSWORD}, allow_redirects=False
    )
    assert response.status_code == 302, response.text[:300]
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def _next_link(html: str) -> str:
    """The page's "next" link (a keyset cursor on the product list)."""
    link = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "after=" in link, link
    return link


def test_key_pages_against_bare_flask(app, app_env):
    tenant_id, slug = _province(app, app.test_cli_runner())
    _uid, email = create_user(app, tenant_id, roles=("province_admin",))
    from app.registry.models import Product
    from tenants.context import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        total = db.session.scalar(select(func.count(Product.id)))
        product_id = db.session.scalar(select(func.max(Product.id)))
        # A name held by one product only: the search's "one hit".
        tag = db.session.scalar(
            select(Product.name).group_by(Product.name).having(func.count() == 1).order_by(Product.name).limit(1)
        )
    deep = max(2, (total // 50) - 1)
    deep_label = f"product list, page {deep}"
    pages = {
        "province dashboard `/<slug>/`": f"/{slug}/",
        "product list, page 1": f"/{slug}/products",
        # Reached as a reader gets there: the "next" link of the page before it, a keyset cursor
        # (?after=…, signed by the server that serves it: taken from each server's own page below).
        deep_label: f"/{slug}/products?page={deep - 1}",
        "product search (one hit)": f"/{slug}/products?q={quote(tag)}",  # ab sends the URL as given
        "product page": f"/{slug}/products/{product_id}",
        "`/healthz`": "/healthz",
    }

    env = {
        **os.environ,
        **{k: v for k, v in app_env.items() if isinstance(v, str)},
        "OCOP_ENV": "bench",
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),  # one key for both workers
        "SESSION_COOKIE_SECURE": "false",
    }
    web, web_base = _gunicorn("wsgi:app", env, ROOT)
    rendering, rendering_base = _gunicorn("wsgi:app", {**env, "OCOP_PAGE_CACHE": "0"}, ROOT)
    bare, bare_base = _gunicorn("bare_flask:app", env, Path(__file__).parent)
    try:
        cookie = _session_cookie(web_base, slug, email)
        # Statements per request, counted in this process on the same pages.
        from tests.factories import signed_in

        client = signed_in(app, slug, email)
        local = dict(pages, **{deep_label: _next_link(client.get(pages[deep_label]).get_data(as_text=True))})
        served = requests.get(f"{web_base}{pages[deep_label]}", headers={"Cookie": cookie}, timeout=60)
        pages[deep_label] = _next_link(served.text)
        queries, rendered_queries = {}, {}
        for label, path in local.items():
            for counts, cache in ((queries, True), (rendered_queries, False)):
                app.config["PAGE_CACHE"] = cache
                client.get(path)
                with counted(app) as seen:
                    assert client.get(path).status_code == 200
                counts[label] = len(seen["statements"])
        app.config["PAGE_CACHE"] = True

        results = {label: [] for label in pages}
        rendered = {label: [] for label in pages}
        bare_rounds = []
        for _round in range(ROUNDS):
            for label, path in pages.items():
                bare_rounds.append(_ab(f"{bare_base}/", None))
                results[label].append(_ab(f"{web_base}{path}", cookie))
                rendered[label].append(_ab(f"{rendering_base}{path}", cookie))
    finally:
        app.config["PAGE_CACHE"] = True
        for server in (web, rendering, bare):
            server.terminate()
        for server in (web, rendering, bare):
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()

    bare_rps = statistics.median(r["rps"] for r in bare_rounds)
    lines = [
        f"{total:,} products in the province; {CONNECTIONS} connections, {ROUNDS}×{ROUND_SECONDS} s per page "
        f"alternating with bare Flask ({bare_rps:.0f} req/s median).",
        "",
        "Served: a page seen again comes from the page cache. Rendered: the same page rendered on every request"
        " (OCOP_PAGE_CACHE=0), as after each change of the province.",
        "",
        "| page | served req/s | share of bare Flask | p50 ms | p95 ms | queries/request "
        "| rendered req/s | share | p50 ms | p95 ms | queries/request |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def figures(runs: list[dict], statements: int) -> tuple[str, bool]:
        rps = statistics.median(r["rps"] for r in runs)
        p50 = statistics.median(r["p50"] for r in runs)
        p95 = statistics.median(r["p95"] for r in runs)
        share = 100 * rps / bare_rps
        met = share >= AIM_SHARE and p95 <= AIM_P95_MS and statements <= AIM_QUERIES
        return f"{rps:.0f} | {share:.1f} % | {p50:.0f} | {p95:.0f} | {statements}", met

    aims = {"served": [], "rendered": []}
    for label in pages:
        served_row, served_met = figures(results[label], queries[label])
        rendered_row, rendered_met = figures(rendered[label], rendered_queries[label])
        lines.append(f"| {label} | {served_row} | {rendered_row} |")
        aims["served"].append(served_met)
        aims["rendered"].append(rendered_met)
    lines += [
        "",
        f"Aims (≥ {AIM_SHARE:.0f} % of bare Flask, p95 ≤ {AIM_P95_MS:.0f} ms, ≤ {AIM_QUERIES} queries) met by "
        + "; ".join(f"{kind}: {sum(met)} of {len(met)} pages" for kind, met in aims.items())
        + ".",
    ]
    print("\n" + "\n".join(lines))
    (ROOT / "var").mkdir(exist_ok=True)
    (ROOT / "var" / "bench-pages.md").write_text("\n".join(lines) + "\n")
