"""The analyst report: self-contained, escaped, rendered by a real headless Chromium without network."""
from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tension.errors import UsageError
from tension.reports import CSP, load_scores, md_escape, render_report, render_timeline

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def html_path(report_world, tmp_path_factory) -> Path:
    return report_world["render_html"](report_world, tmp_path_factory.mktemp("html") / "report.html")


@pytest.fixture(scope="module")
def html(html_path) -> str:
    return html_path.read_text(encoding="utf-8")


def test_page_is_self_contained_under_a_strict_csp(html):
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html.replace("&#39;", "'")
    assert "default-src 'none'" in CSP and "script" not in CSP
    assert "<script" not in html.lower()
    tags = re.findall(r"<[a-zA-Z][^>]*>", html)  # real tags only: escaped text starts with &lt;
    names = {re.match(r"<([a-zA-Z0-9]+)", t).group(1).lower() for t in tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "base", "form", "audio", "video"}
    assert not [t for t in tags if re.search(r"\ssrc\s*=", t, re.I)]
    assert not re.search(r"@import|url\((?!#)", html, re.I)  # SVG's url(#clip) is an in-document reference
    # the only hrefs are in-page anchors and http(s) source links (navigation, never loaded)
    for href in re.findall(r'href="([^"]*)"', html):
        assert href.startswith(("#", "http://", "https://")), href


def test_planted_markup_comes_out_escaped_and_inert(report_world, html):
    assert report_world["evil"] not in html
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;" in html  # shown to the analyst as text
    assert not re.search(r"<[^>]+\son\w+\s*=", html, re.I)  # no live event-handler attribute anywhere
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', html)).lower()
    assert "Inner Sea &#34;&lt;b&gt;&#34;" in html  # region names from config are escaped too


def test_insufficient_dyads_say_so_instead_of_a_number(report_world, html):
    s = report_world["scores"]
    thin = s[s["coverage"] == "insufficient"]
    assert len(thin), "the world should hold at least one dyad with too little recent data"
    listed = html.split('id="insufficient"')[1].split("</p>")[0]
    for dyad in thin["dyad"]:
        assert f"<code>{dyad}</code>" in listed
        row = re.search(rf"<tr>(?:(?!</tr>).)*<code>{re.escape(dyad)}</code>(?:(?!</tr>).)*</tr>", html, re.S)
        assert row is None or "insufficient data" in row.group(0)  # region tables say so too, no number


def test_report_has_every_section_an_analyst_needs(report_world, html):
    for anchor in ("watchlist", "region-1", "dyads", "model", "health", "track", "timeline"):
        assert f'id="{anchor}"' in html
    assert "calibration is applied afterwards" in html
    assert "tension/7" in html and "0123456789abcdef" in html  # model version and MLflow run
    assert html.count('class="spark"') >= len(report_world["scores"]) - 1
    assert "no risk claim" in html
    record = report_world["ledger"].track_record()
    from tension.reports.formatting import num

    assert len(record) and f'<td class="num">{num(record.iloc[0]["brier"])}</td>' in html  # as the report writes scores


def test_region_option_keeps_only_that_region_and_names_typos(report_world, tmp_path):
    regions = report_world["regions"]
    name = next(iter(regions))
    text = render_report(report_world["scores"], report_world["panel"], regions=regions, region=name)
    inside = report_world["scores"].query("region == @name")["dyad"]
    outside = report_world["scores"].query("region != @name")["dyad"]
    assert all(f"<code>{d}</code>" in text for d in inside)
    assert not any(f"<code>{d}</code>" in text for d in outside)
    with pytest.raises(UsageError, match="Unknown region 'Inner Sea'.*Did you mean"):
        render_report(report_world["scores"], regions=regions, region="Inner Sea")


def test_csv_json_and_markdown_carry_the_same_scores(report_world, tmp_path):
    s = report_world["scores"]
    csv = render_report(s, format="csv", out=tmp_path / "s.csv")
    back = load_scores(csv)
    assert list(back.columns) == list(s.columns) and len(back) == len(s)
    np.testing.assert_allclose(back["probability"], s["probability"])
    assert (back["drivers"] == s["drivers"]).all()
    data = json.loads(render_report(s, format="json"))
    assert len(data["scores"]) == len(s) and isinstance(data["scores"][0]["drivers"], list)
    assert load_scores(render_report(s, format="json", out=tmp_path / "s.json"))["dyad"].tolist() == s["dyad"].tolist()
    md = render_report(s, format="md")
    assert "<script" not in md and "&lt;script" in md
    assert md.count("\n| ") >= len(s.drop_duplicates("dyad")) + 1


def test_markdown_escape_neutralises_html_and_table_breaks():
    assert md_escape("a|b <i>x</i> *y*") == "a\\|b &lt;i\\>x&lt;/i\\> \\*y\\*"


def test_unknown_format_is_refused_with_the_choices(report_world):
    with pytest.raises(UsageError, match="Unknown report format.*Did you mean 'html'"):
        render_report(report_world["scores"], format="htm")


def test_timeline_page_makes_no_risk_claim_and_escapes(report_world):
    page = render_timeline(report_world["examples"])
    assert "no risk claim" in page and "<script" not in page.lower()
    assert "%" not in re.sub(r"<style>.*?</style>", "", page, flags=re.S)  # no probability anywhere
    assert len(re.findall(r"<tr><td class=\"date\">", page)) == len(report_world["examples"])


# --------------------------------------------------------------------------- headless Chromium


class _Counting(SimpleHTTPRequestHandler):
    seen: list[str]

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(self.path)
        super().do_GET()


def _serve_and_render(folder: Path, page: str, tmp: Path) -> tuple[list[str], str, dict, Path]:
    """Serve ``folder`` on 127.0.0.1, screenshot ``page`` with headless Chromium; return what was asked for."""
    seen: list[str] = []
    handler = functools.partial(type("H", (_Counting,), {"seen": seen}), directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
    shot, netlog = tmp / "shot.png", tmp / "net.json"
    try:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             f"--user-data-dir={tmp / 'profile'}", f"--log-net-log={netlog}", f"--screenshot={shot}", "--dump-dom",
             "--window-size=1280,2000", url],
            capture_output=True, text=True, timeout=180)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    return seen, proc.stdout, json.loads(netlog.read_text()), shot


def _page_requests(netlog: dict, host: str = "127.0.0.1") -> list[str]:
    """URLs the page asked for (requests in the page's network partition), ignoring the browser's own chatter."""
    names = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
    out = []
    for e in netlog["events"]:
        p = e.get("params") or {}
        if names.get(e["type"]) == "URL_REQUEST_START_JOB" and host in str(p.get("network_isolation_key", "")) + str(p.get("initiator", "")):
            out.append(p["url"])
    return out


def _all_requests(netlog: dict) -> list[str]:
    names = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
    return [e["params"]["url"] for e in netlog["events"]
            if names.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in (e.get("params") or {})]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (CI's .ci/run installs it)")
def test_chromium_renders_the_report_without_any_network_request(html_path, tmp_path):
    seen, dom, netlog, shot = _serve_and_render(html_path.parent, html_path.name, tmp_path)
    assert seen == [f"/{html_path.name}"]  # the server saw exactly one request: the page itself
    assert _page_requests(netlog) == [f"http://127.0.0.1:{_port(netlog, html_path.name)}/{html_path.name}"]
    assert not [u for u in _all_requests(netlog) if ":9/" in u]  # the planted fetch() never ran
    title = re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    assert "PWNED" not in title and title.startswith("Escalation risk watchlist")
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert img.shape == (2000, 1280) and img.std() > 10  # a real page, not a blank one


def _port(netlog: dict, page: str) -> int:
    for u in _page_requests(netlog):
        m = re.match(r"http://127\.0\.0\.1:(\d+)/" + re.escape(page), u)
        if m:
            return int(m.group(1))
    return -1


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (CI's .ci/run installs it)")
def test_the_network_check_catches_a_page_that_loads_something(tmp_path):
    """Negative control: the same harness notices a page that fetches a resource."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "leaky.html").write_text('<html><body><img src="/pixel.png">hi</body></html>')
    seen, _dom, netlog, _shot = _serve_and_render(tmp_path / "site", "leaky.html", tmp_path)
    assert "/pixel.png" in seen and len(_page_requests(netlog)) >= 2
