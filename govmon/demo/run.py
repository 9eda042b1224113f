"""`govmon demo`: serve the demonstration pages on loopback and show what govmon reads."""

from __future__ import annotations

import typer

from govmon.crawler.extract import extract_page
from govmon.crawler.fetch import fetch
from govmon.demo.pages import demo_pages
from govmon.demo.server import DemoServer


def run_demo() -> int:
    sites = demo_pages()
    with DemoServer.serving(sites) as server:
        typer.echo("演示网站已在本机回环地址上启动：")
        for label, base in server.base_urls.items():
            typer.echo(f"  {label}: {base}")
        from govmon.cli import render_facts

        for label, site in sites.items():
            for path in site:
                url = server.base_urls[label] + path
                result = fetch(url)
                data = extract_page(result.final_url, result.body, result.headers).to_dict()
                data.update(url=url, final_url=result.final_url, status=result.status)
                typer.echo("\n" + "=" * 72)
                typer.echo(f"govmon inspect {url}")
                typer.echo("-" * 72)
                typer.echo(render_facts(data))
    return 0
