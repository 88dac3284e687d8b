from __future__ import annotations

from pathlib import Path

import pytest

from tension.config import Experiment, PanelConfig, from_mapping, load_experiment
from tension.errors import UsageError, problem


def test_defaults_load_without_a_file() -> None:
    exp = load_experiment()
    assert isinstance(exp, Experiment)
    assert exp.panel.freq == "W" and exp.regions["South Caucasus"][0] == "ARM"


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[panel]\nfreqq = 'M'\n")
    with pytest.raises(UsageError, match=r"panel.freqq: unknown key. Did you mean 'freq'\?"):
        load_experiment(path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[panel]\nfreq = 3\nlookback_months = 'many'\n[target]\nhorizn = 2\n")
    with pytest.raises(UsageError, match="has 3 problems") as err:
        load_experiment(path)
    text = str(err.value)
    assert "panel.freq: expected str, got 3" in text
    assert "panel.lookback_months: expected int" in text
    assert "Did you mean 'horizon'" in text


def test_missing_and_invalid_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Configuration file not found"):
        load_experiment(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[panel\n")
    with pytest.raises(UsageError, match="is not valid TOML"):
        load_experiment(bad)


def test_overrides_apply_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[panel]\nfreq = 'M'\n[target]\nhorizon = 3\n")
    exp = load_experiment(path, panel__freq="W", target__k=2, target__horizon=None)
    assert (exp.panel.freq, exp.target.k, exp.target.horizon) == ("W", 2, 3)


def test_ints_are_accepted_for_floats_but_bools_are_not_ints() -> None:
    cfg = from_mapping(PanelConfig, {"low_coverage_ratio": 1, "monitored": ["ARM|AZE"]})
    assert cfg.low_coverage_ratio == 1.0 and cfg.monitored == ("ARM|AZE",)
    with pytest.raises(UsageError, match="lookback_months: expected int, got True"):
        from_mapping(PanelConfig, {"lookback_months": True})


def test_problem_message_has_all_four_parts() -> None:
    msg = problem("The 'horizon' is invalid.", "a positive integer", 0, "Use --horizon 1 or more.")
    assert msg == "The 'horizon' is invalid. Expected a positive integer. Got 0. Use --horizon 1 or more."
