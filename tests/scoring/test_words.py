"""Driver sentences from the dyad history and the builders' docstrings."""
from __future__ import annotations

import pandas as pd

from tension.scoring import describe_driver


def test_driver_text_reads_like_a_sentence_from_the_dyads_history(panel):
    hist = pd.DataFrame({"denials_accuse_by_source_4p": [1, 2, 2, 2, 2, 4, 5, 6]})
    text = describe_driver("denials_accuse_by_source_4p", 0.8, hist, "AZE", "ARM", True, "W")
    assert text == ("accusations from Azerbaijan against Armenia tripled over 4 weeks (6 vs 2 in the 4 weeks "
                    "before); raises the risk")
    hist = pd.DataFrame({"incidents_violence_12p": [0.0] * 13 + [3.0]})
    text = describe_driver("incidents_violence_12p", -0.1, hist, "AZE", "ARM", False, "M")
    assert text.startswith("violent incidents (assaults, fighting) between Azerbaijan and Armenia up from none over 12 months")
    assert text.endswith("lowers the risk")
    text = describe_driver("dynamics_hostile_trend_12p", 0.2, None, "ARM", "AZE", True, "W", value=0.5, group="dynamics")
    assert text == "hostility dynamics: hostility trend from Armenia toward Azerbaijan at 0.5; raises the risk"
    hist = pd.DataFrame({"dynamics_hostile_ewma_4p": [4.0, 4.0, 4.0, 4.0, 4.0, 4.95]})
    text = describe_driver("dynamics_hostile_ewma_4p", 0.3, hist, "AZE", "ARM", True, "W")
    assert text.endswith("at 4.95 (4 weeks earlier: 4); raises the risk"), text  # not "(was 4 4 weeks earlier)"


def test_every_registered_feature_is_labelled_from_its_builders_docstring():
    from tension.features import describe_features
    from tension.scoring import feature_label
    from tension.scoring.words import feature_window

    for row in describe_features().itertuples():
        label, kind = feature_label(row.name, "AZE", "ARM", True)
        meaning = row.doc.split(";")[0]
        assert label and "{" not in label and "CAMEO" not in label and "taxonomy" not in label, (row.name, label)
        assert kind == ("count" if row.doc.split("; ")[1].startswith("count") or "(sum of" in meaning else "level")
        if "of the dyad" in meaning or "by source toward target" in meaning:
            assert "Azerbaijan" in label and "Armenia" in label, (row.name, label)
        window = row.doc.rstrip(".").split("; ")[-1]
        assert feature_window(row.name) == (int(next(w for w in window.split() if w.isdigit()))
                                            if any(w.isdigit() for w in window.split()) else 1)
