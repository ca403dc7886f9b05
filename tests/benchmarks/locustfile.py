"""A province's staff at work, for `tests/benchmarks/test_bench_mixed.py`: sign in, browse the
dashboard and lists, search, open a product, export to Excel. Run by locust in its own process
(gevent), credentials from the file named by OCOP_BENCH_USERS (JSON: slug, [[email, password], …])."""

import json
import os
import random
import re

from locust import HttpUser, between, task

SETTINGS = json.loads(open(os.environ["OCOP_BENCH_USERS"]).read())
SLUG = SETTINGS["slug"]
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
PRODUCT = re.compile(rf'href="/{SLUG}/products/(\d+)"')
WORDS = ["mật ong", "chè", "gạo", "miến", "tương", "bánh", "nem"]


class Officer(HttpUser):
    wait_time = between(0.5, 2)

    def on_start(self):
        email, password = SETTINGS["users"].pop()
        page = self.client.get(f"/{SLUG}/login", name="login form")
        token = TOKEN.search(page.text).group(1)
        with self.client.post(
            f"/{SLUG}/login",
            data={"csrf_token": token, "email": email, "password": password},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login answered {response.status_code}")
        self.products = []

    @task(4)
    def dashboard(self):
        self.client.get(f"/{SLUG}/", name="dashboard")

    @task(4)
    def product_list(self):
        page = self.client.get(f"/{SLUG}/products", name="product list")
        self.products = PRODUCT.findall(page.text) or self.products

    @task(3)
    def search(self):
        self.client.get(f"/{SLUG}/products", params={"q": random.choice(WORDS)}, name="search")

    @task(3)
    def product(self):
        if self.products:
            self.client.get(f"/{SLUG}/products/{random.choice(self.products)}", name="product page")

    @task(1)
    def export(self):
        self.client.get(f"/{SLUG}/products/export.xlsx", name="export")
