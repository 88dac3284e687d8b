"""One module per stage of the flow; importing a module registers its commands."""
from . import ingest, simulate, panel, model, registry, jobs, ledger, score, report, doctor, demo, code  # noqa: F401
