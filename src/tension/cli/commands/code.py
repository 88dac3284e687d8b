"""CLI command ``tension code``: news text -> events CSV (machine-coded, with evidence and polarity)."""
from __future__ import annotations

from pathlib import Path

import typer

from ..._io import atomic_output
from .. import app
from .._common import JsonOpt, console, dict_table, emit


@app.command()
def code(
    paths: list[Path] = typer.Argument(..., help="Texts to code: .txt files (optional 'url:', 'title:', 'published:' header lines, a blank line, then the body), .jsonl files (id, text, published, url, title) or folders of them."),
    out: Path = typer.Option(..., "--out", help="Events CSV to write (the analysts' layout: tension ingest --format csv reads it back)."),
    published: str | None = typer.Option(None, "--published", help="Publication day (YYYY-MM-DD) for texts without their own; relative dates ('on Wednesday') count back from it. Default: today (UTC)."),
    coder: str = typer.Option("offline", "--coder", help="offline (rules, no network; the default) or llm (an OpenAI-compatible chat server)."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="--coder llm: base URL of the chat-completions API, e.g. http://127.0.0.1:8080/v1."),
    llm_model: str | None = typer.Option(None, "--llm-model", help="--coder llm: the model name the server expects."),
    as_json: bool = JsonOpt,
) -> None:
    """Code news text into events: who did what to whom, when, with the sentence as evidence.

    One row per event with [bold]polarity[/bold] asserted, claimed (one party alleges it) or denied
    (the text reports it denied), a calibrated [bold]confidence[/bold] and the [bold]evidence[/bold]
    sentence. On [bold]tension ingest --format csv[/bold] only asserted rows enter the store;
    claimed and denied rows are quarantined for review. Nothing is written when coding fails.

    Example: [bold]tension code data/examples/news --published 2025-07-07 --out coded.csv[/bold]
    """
    from ...coder import LlmSettings, code_texts, read_texts

    llm = LlmSettings(endpoint or "", llm_model or "") if coder == "llm" else None
    texts = read_texts(paths)
    frame = code_texts(texts, published=published, coder=coder, llm=llm,
                       warn=lambda msg: console.print(f"[yellow]Warning:[/yellow] {msg}", highlight=False))
    with atomic_output(out, "coded events CSV") as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    counts = frame["polarity"].value_counts().to_dict() if len(frame) else {}
    payload = {
        "texts": len(texts),
        "events": int(len(frame)),
        "asserted": int(counts.get("asserted", 0)),
        "claimed": int(counts.get("claimed", 0)),
        "denied": int(counts.get("denied", 0)),
        "coder": coder,
        "out": str(out),
    }
    emit(payload, as_json, table=dict_table("Coded events", [{"what": k, "value": v} for k, v in payload.items()]),
         lines=[f"Wrote {len(frame)} events to {out}.", f"Next: tension ingest {out} --format csv"
                " (asserted events are stored; claimed and denied ones are kept in quarantine for review)."])
