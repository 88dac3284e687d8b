"""The watchlist as Markdown: the table and each detail dyad's drivers and evidence."""
from __future__ import annotations

from typing import Any

from .formatting import md_escape, pct


def markdown(ctx: dict[str, Any], title: str, region: str | None) -> str:
    """The watchlist as Markdown, every text escaped (see :func:`md_escape`)."""
    hz = ctx["horizons"]
    lines = [f"# {md_escape(title)}" + (f" \u2014 {md_escape(region)}" if region else ""), "",
             f"As of {ctx['as_of']}; data through {ctx['data_cutoff']}; model {md_escape(', '.join(ctx['model_versions']))}.",
             "Probabilities are calibrated; the interval is an 80% band from this model's backtest (\"no band\" when there "
             "is none). Insufficient data is shown as such, never as low risk.",
             "", "| rank | dyad | region | " + " | ".join(f"h = {ctx['unit'][h]}" for h in hz) + " | coverage |",
             "|---:|---|---|" + "---|" * len(hz) + "---|"]
    for r in ctx["rows"]:
        cells = []
        for c in r["cells"]:
            if c is None:
                cells.append("")
            elif c["insufficient"]:
                cells.append("insufficient data")
            else:
                band = f"({pct(c['lower'])}\u2013{pct(c['upper'])})" if c["band"] else f"(no band: {c['no_band']})"
                cells.append(f"{pct(c['p'])} {band} {c['change']['arrow']} {c['change']['text']}")
        lines.append(f"| {r['rank'] or ''} | {md_escape(r['name'])} | {md_escape(r['region_label'])} | " +
                     " | ".join(cells) + f" | {md_escape(r['coverage'])} |")
    for r in ctx["detail"]:
        lines += ["", f"## {md_escape(r['name'])}", "",
                  "Drivers (log-odds before calibration; calibration is applied afterwards):", ""]
        lines += [f"- {float(d.get('contribution', 0)):+.2f} {md_escape(d.get('text', ''))}" for d in r["drivers"]]
        if r["evidence"]:
            lines += ["", "Evidence:", ""]
            lines += [f"- {md_escape(e.get('date', ''))} {md_escape(e.get('text', ''))} "
                      f"(`{md_escape(e.get('event_id', ''))}`, {md_escape(e.get('source_ref', ''))})" for e in r["evidence"]]
    return "\n".join(lines) + "\n"
