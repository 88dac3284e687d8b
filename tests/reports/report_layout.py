"""Measure a rendered report in real headless Chromium at a given viewport width.

Headless Chromium will not open a window narrower than 500 px, so the harness drives it over
the DevTools protocol (``--remote-debugging-pipe``): it sets the viewport with
``Emulation.setDeviceMetricsOverride``, loads the page unchanged (its CSP still forbids page
scripts; DevTools evaluation is not a page script), measures the layout with a small script
run through ``Runtime.evaluate`` and takes a screenshot with ``Page.captureScreenshot``.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_TILE = 16000

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
          "--hide-scrollbars", "--remote-debugging-pipe"]

_MEASURE = r"""
(function () {
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') {
        const r = p.getBoundingClientRect();
        if (r.left >= -1 && r.right <= vw + 1) return true;
      }
    }
    return false;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
    ' "' + (el.innerText || '').trim().slice(0, 40).replace(/\s+/g, ' ') + '"';
  const out = {viewport: vw, scroll_width: document.documentElement.scrollWidth, too_wide: [], narrow_cells: [],
               overlaps: []};
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if ((r.right > vw + 1 || r.left < -1) && !scrolls(el)) out.too_wide.push([describe(el), Math.round(r.left), Math.round(r.right)]);
  }
  for (const cell of document.body.querySelectorAll('td, th')) {
    const text = (cell.innerText || '').trim();
    if (text.replace(/\s/g, '').length < 4) continue;
    if (!cell.getClientRects().length) continue;  // not displayed (a hidden header row)
    const cs = getComputedStyle(cell);
    const inner = cell.getBoundingClientRect().width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)
      - parseFloat(cs.borderLeftWidth) - parseFloat(cs.borderRightWidth);
    const width = (t) => {
      const probe = document.createElement('span');
      probe.textContent = t;
      probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap;font:' + cs.font;
      document.body.appendChild(probe);
      const w = probe.getBoundingClientRect().width;
      probe.remove();
      return w;
    };
    // room for four characters, or for the whole text when it is shorter than that on one line
    const need = Math.min(width('abcd'), width(text));
    if (inner < need - 1) out.narrow_cells.push([describe(cell), Math.round(inner), Math.round(need)]);
  }
  // the track-record table and the reliability chart beside it, found by structure (the section after h2#track)
  const head = document.getElementById('track');
  let table = null, chart = null;
  for (let el = head && head.nextElementSibling; el && el.tagName !== 'H2'; el = el.nextElementSibling) {
    if (!table) table = el.matches('table') ? el : el.querySelector('table');
    if (!chart) chart = el.matches('svg') ? el : el.querySelector('svg');
  }
  out.track_found = Boolean(table && chart);
  if (table && chart) {
    const rb = chart.getBoundingClientRect();
    for (const el of [table, ...table.querySelectorAll('*')]) {
      const r = el.getBoundingClientRect();
      if (r.width && r.height && r.left < rb.right && rb.left < r.right && r.top < rb.bottom && rb.top < r.bottom)
        out.overlaps.push(describe(el));
    }
  }
  return JSON.stringify(out);
})()
"""


class _Pipe:
    """A minimal DevTools-protocol client over Chromium's pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, tmp: Path) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def _wire() -> None:  # in the child: our pipe ends become fds 3 and 4, where Chromium looks for them
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen([CHROMIUM, *_FLAGS, f"--user-data-dir={tmp / 'profile'}", "about:blank"],
                                     close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=_wire)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer over the DevTools pipe")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 120) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._r)
        os.close(self._w)


def measure(html_path: Path, width: int, tmp: Path, height: int = 900) -> tuple[dict, Path]:
    """Load ``html_path`` in a ``width`` px viewport, measure its layout, screenshot the whole page.

    The screenshot is ``report-<width>px.png`` (then ``-2.png``, ... for a page taller than 16,000 px).
    Returns the measurements (``viewport``, ``scroll_width``, ``too_wide``, ``narrow_cells``,
    ``track_found``, ``overlaps``) and the path of the PNG.
    """
    chrome = _Pipe(tmp)
    try:
        targets = chrome.call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        session = chrome.call("Target.attachToTarget", {"targetId": page, "flatten": True})["sessionId"]
        chrome.call("Emulation.setDeviceMetricsOverride",
                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        chrome.call("Page.enable", session=session)
        chrome.call("Page.navigate", {"url": html_path.resolve().as_uri()}, session)
        chrome.wait_for("Page.loadEventFired")
        result = chrome.call("Runtime.evaluate", {"expression": _MEASURE, "returnByValue": True}, session)
        data = json.loads(result["result"]["value"])
        full = float(chrome.call("Page.getLayoutMetrics", session=session)["cssContentSize"]["height"])
        tiles = []  # a long page in tiles of 16,000 px (Chromium's largest capture)
        for top in range(0, int(full) + 1, _TILE):
            tiles.append(chrome.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
                "x": 0, "y": top, "width": width, "height": min(full - top, _TILE), "scale": 1}}, session)["data"])
    finally:
        chrome.close()
    path = tmp / f"report-{width}px.png"
    for i, data_png in enumerate(tiles):
        (path if i == 0 else tmp / f"report-{width}px-{i + 1}.png").write_bytes(base64.b64decode(data_png))
    return data, path
