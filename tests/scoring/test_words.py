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
