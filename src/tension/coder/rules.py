"""The offline coder: one sentence -> events, by rules over the verb table and the actor mentions.

1. Actor mentions (:mod:`.mentions`) and verb phrases (:mod:`.verbs`) are found in the sentence.
   An attribution at the end ("..., officials said", "according to ...") is cut off first: it
   names who reports, not who acts.
2. The head is the first verb phrase that is not a reporting verb ("said that") and is not
   negated ("did not", "never", "no longer"). A refusal has its own entries (REJECT). Phrases of
   the table and verbs of the general lexicon compete alike (a phrase wins where both cover the same
   words); a phrase right after a determiner ("the killing") is a noun and, like the noun entries,
   names the event only when no verb does. Leading and trailing subordinate clauses ("after ...",
   "... if ..."), participle phrases ("Backed by X, ...") and relative clauses are background when
   the main clause has a verb.
3. Active voice: the source is the first actor group before the verb (after any reporting
   verb; actors after "in"/"at" only when there is no other), the target the first actor
   group after it. Passive voice ("was attacked by X"): the source is the group after "by",
   the target the group before the verb. Actors joined by "and" or commas form one group;
   a group of two or more without a target acts jointly ("A and B agreed").
4. Coordinated predicates ("A summoned B's envoy and demanded an inquiry") give one event each;
   a new subject after "and" ("A attacked B and C retaliated") becomes that event's source.
5. Frames. *allege* ("accused B of", "B claims that C ..."): an asserted A -> B accusation,
   and the alleged act, B -> its target, with polarity ``claimed``. *deny* ("A denied B's claim
   that C ..."): an asserted A -> B denial (016); when B's claim is a hostile act of C, an asserted
   B -> C accusation (B did make the claim; what is in dispute is the act); the act itself,
   C -> its target, with polarity ``denied``. An allegation or a denial is a speech act that
   happened; only its content is uncertain.
6. Confidence: a score from how complete and specific the reading is (see ``_raw_confidence``),
   mapped to the share of correct events measured on the development gold
   (``data/coder_calibration.tsv``, written by ``benchmarks/coder.py --calibrate``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from importlib import resources

from ..taxonomy import cameo_table
from .dates import event_date
from .mentions import Mention, find_mentions
from .verbs import VerbMatch, find_verbs

__all__ = ["CodedEvent", "code_sentence", "calibrate_confidence"]

_NEGATION = re.compile(r"(?:\b(?:not|never|no longer|neither|nor|without|cannot|won't|didn't|doesn't|don't|isn't|wasn't|weren't|hasn't|haven't|hadn't|wouldn't|couldn't|shouldn't|refused to|declined to|failed to|refusal to|failure to|denied|deny|denies)\b|n't)\s+(?:[\w'-]+\s+){0,2}$")
_PASSIVE = re.compile(r"\b(?:was|were|been|being|is|are|be|got|gets|get)\s+(?:\w+ly\s+)?$")
_PREP_BEFORE = re.compile(r"\b(?:in|at|near|inside|across|from|to|into|over|on|against|with|for|toward|towards|outside|around|within|by|between)\s+(?:the\s+)?(?:[\w'-]+\s+){0,2}$")
_TAIL = re.compile(r",\s*(?:[^,]{0,80}?\b(?:said|says|told|confirmed|announced|reported|added|stated|reports|noted)\b"
                   r"(?![^,]*\b(?:that|it|they|he|she|we|would|will|had|has|was|were|is|are)\b)[^,]*|\s*according to\b.*)$")
"""An attribution at the end (", officials said on Monday"); not ", Iraq said it would ...", which is the main clause."""
_JOIN = re.compile(r"^(?:\s*,\s*|\s+and\s+(?:the\s+)?|\s*,\s*and\s+(?:the\s+)?|\s+as well as\s+(?:the\s+)?|\s+and\s+\w+\s+)$")
_CLAIM_NOUN = re.compile(r"\b(?:claim|claims|report|reports|allegation|allegations|accusation|accusations|charge|charges|statement|assertion|suggestion|suggestions)\b")
_INTENT = re.compile(r"\b(?:will|would|shall|(?:willingness|readiness|intention|plans|commitment) to|(?:is|are|was|were)?\s*(?:ready|prepared|willing|set|expected|going) to|plans? to|planned to|intends? to|intended to|promised to|pledged to|vowed to|sworn to|swore to|offered to|wants? to|wanted to|could|may|might)\s+(?:[\w'-]+\s+){0,3}$")
_MUST = re.compile(r"\b(?:must|should|has to|have to|needs? to|ought to)\s+(?:[\w'-]+\s+){0,2}$")
_INTRO = re.compile(r"^(?:after|following|despite|amid|since|as|when|while|although|though|because|in response to|in retaliation for|before|once|if|unless)\b[^,]{0,160},")
_PREP_INTRO = re.compile(r"^(?:in|under|on|at|with|during|from|through|upon|according to|by)\b[^,]{0,100},")
_PARTICIPLE = re.compile(r"(?:^|,\s*)(?!united\b|armed\b)(?:[a-z]+ing|[a-z]+ed|[a-z]+en)\b(?:\s+by)?[^,]{0,120},")
"""A participle phrase before the subject or between commas after it ("Backed by Russia, ...", "Syria, angered by ..., ...")."""
_SUBORDINATE = re.compile(r"(?:,\s*|\s)(?:if|unless|because|after|before|while|although|though|whereas|until|when|once)\s")
"""A clause after the main verb that gives a condition, a reason or the time: background when the main clause has a verb."""
_RELATIVE = re.compile(r",\s*(?:which|who|whose|whom|where)\b[^,]{0,160},")
_AND_BEFORE = re.compile(r"^[^,;]{0,60}\band\s+(?:then\s+|also\s+|later\s+)?(?:[\w'\u2019-]+\s+){0,3}$")
_REDUCED_BY = re.compile(r"\s+by\b")
_DETERMINER = re.compile(r"\b(?:the|a|an|its|their|his|her|our|this|these|those)\s+$")
_LIGHT_VERB = re.compile(r"\b(?:began|begin|begins|started|starts|start|continued|continues|continue|launched|launches|launch|"
                         r"staged|stages|stage|held|holds|hold|carried out|carries out|carry out|conducted|conducts|conduct|"
                         r"mounted|mounts|mount|resumed|resumes|resume|made|makes|make|announced|announces|announce|"
                         r"declared|declares|declare|imposed|imposes|impose|ordered|orders|order|called|calls|call)\s+(?:\w+\s+)?$")
"""A verb that takes the event noun as its object ("staged a protest", "announced a suspension"): the noun is the event."""
_BY = re.compile(r"^\s*(?:[\w'-]+\s+){0,3}?by\s+")


@dataclass(frozen=True)
class CodedEvent:
    """One event read from one sentence."""

    code: str
    sources: tuple[Mention, ...]
    targets: tuple[Mention, ...]
    polarity: str = "asserted"
    date: date | None = None
    date_precision: str = "published"
    confidence: float = 0.5
    rule: str = "event"
    verb: str = ""
    features: dict = field(default_factory=dict, compare=False, hash=False)


_JOIN_LONG = re.compile(r"^[\w\s.'\u2019-]{0,40}\sand\s[\w\s.'\u2019-]{0,30}$")


def _groups(mentions: list[Mention], sentence: str, verbs: list[VerbMatch] = ()) -> list[tuple[Mention, ...]]:
    """Mentions joined by "and" or commas -> one group ("Libyan leader X and Bulgarian President Y" too, when no verb is between)."""
    groups: list[list[Mention]] = []
    for m in mentions:
        between = sentence[groups[-1][-1].end:m.start] if groups else ""
        long_join = bool(groups) and _JOIN_LONG.match(between) and not any(groups[-1][-1].end <= v.start < m.start for v in verbs)
        # "A attacked B, and C brokered ...": C starts a clause (a lone B before ", and", C right before a verb);
        # "A, B, and C signed" stays one list
        new_subject = (bool(groups) and len(groups[-1]) == 1 and "," in between and " and " in f" {between} "
                       and any(0 <= v.start - m.end <= 25 and len(sentence[m.end:v.start].split()) <= 2 for v in verbs))
        if groups and (_JOIN.match(between) or long_join) and not new_subject:
            groups[-1].append(m)
        else:
            groups.append([m])
    return [tuple(dict((x.code, x) for x in g).values()) for g in groups]


def _in_range(groups: list[tuple[Mention, ...]], lo: int, hi: int) -> list[tuple[Mention, ...]]:
    return [g for g in groups if g[0].start >= lo and g[-1].end <= hi]


def _pick_source(groups: list[tuple[Mention, ...]], sentence: str, lo: int, hi: int) -> tuple[Mention, ...]:
    cands = _in_range(groups, lo, hi)
    if not cands and lo > 0:
        cands = _in_range(groups, 0, hi)
    plain = [g for g in cands if not _PREP_BEFORE.search(sentence[max(0, g[0].start - 40):g[0].start].lower())]
    if plain:
        return plain[0]
    return cands[-1] if cands else ()


_AT_PLACE = re.compile(r"\b(?:in|at|near|from|outside|inside)\s+(?:the\s+)?$")


def _pick_target(groups: list[tuple[Mention, ...]], lo: int, hi: int, exclude: tuple[Mention, ...] = (),
                 sentence: str = "") -> tuple[Mention, ...]:
    """The first actor group in [lo, hi) that is not excluded and not a capital named as a place ("in Washington")."""
    skip = {m.start for m in exclude}
    for g in _in_range(groups, lo, hi):
        if g[0].start in skip:
            continue
        if sentence and g[0].kind == "capital" and _AT_PLACE.search(sentence[max(0, g[0].start - 12):g[0].start].lower()):
            continue
        return g
    return ()


def _as_noun(v: VerbMatch) -> VerbMatch:
    return replace(v, entry=replace(v.entry, frame="noun"))


def _negated(lower: str, v: VerbMatch) -> bool:
    return bool(_NEGATION.search(lower[max(0, v.start - 40):v.start]))


def _passive(lower: str, v: VerbMatch) -> bool:
    return bool(_PASSIVE.search(lower[max(0, v.start - 25):v.start])) and lower[v.start:v.end].split()[0].endswith(("ed", "en", "wn", "ht", "ot", "ck", "id", "et", "eld", "ent"))


@lru_cache(maxsize=1)
def _quads() -> dict[str, int]:
    t = cameo_table()
    return dict(zip(t["code"], t["quad_class"].astype(int), strict=True))


def _hostile(code: str) -> bool:
    return _quads().get(code, 0) >= 3


_INTENT_CODE = {"03": None, "04": "036", "05": "032", "06": "031", "07": "033", "08": "035"}
_CONDITIONAL = re.compile(r"\b(?:could|might|may)\s+(?:[\w'-]+\s+){0,3}$")
_IF = re.compile(r"\b(?:if|unless|should)\b")
_THREAT_CODE = {"15": "138", "17": "137", "18": "138", "19": "138", "20": "138"}
"""Roots whose future act is a threat. Reducing relations (16) is not here: announcing that aid will stop or
ties will be cut is the decision itself."""


def _modal_code(lower: str, v: VerbMatch, negated: bool) -> str | None:
    """The code a modal changes the head into: intent (03), threat (13), demand (10) or rejection (12); None: unchanged.

    CAMEO codes what is said about a future act as the intent or threat, not the act:
    "will provide aid" is an intent to provide aid (033), "would blockade" a threat (13x),
    "must withdraw" a demand (10), "will not accept" a rejection (12).
    """
    before = lower[max(0, v.start - 45):v.start]
    root = v.code[:2]
    quad = _quads().get(v.code, 0)
    if negated:
        return "120" if quad in (1, 2) and root not in ("01", "02") else None
    if _MUST.search(before) and root not in ("10", "11", "12", "13"):
        return "100"
    if _INTENT.search(before):
        if root in _INTENT_CODE:
            return _INTENT_CODE[root]
        if root in _THREAT_CODE:
            return _THREAT_CODE[root]
        if root == "16" and (_CONDITIONAL.search(before) or _IF.search(lower[v.end:])):
            return "131"  # a reduction of relations held out as a possibility or under a condition is a threat
    return None


def _actors_of(groups: list[tuple[Mention, ...]], sentence: str, lower: str, v: VerbMatch, lo: int, hi: int) -> tuple[tuple[Mention, ...], tuple[Mention, ...], bool]:
    """(sources, targets, passive) of a verb between ``lo`` and ``hi``; a visit's target may be a capital ("arrived in Yerevan")."""
    if _passive(lower, v):
        by = _BY.match(lower[v.end:hi])
        src = _pick_target(groups, v.end + by.end(), hi) if by else ()
        tgt = _pick_source(groups, sentence, lo, v.start)
        return src, tgt, True
    src = _pick_source(groups, sentence, lo, v.start)
    first_word = re.match(r"\S+", lower[v.start:v.end])
    tgt = _pick_target(groups, v.start + (first_word.end() if first_word else 0), hi, exclude=src,
                       sentence="" if v.code == "042" else sentence)  # "expelled two Azerbaijani diplomats"
    return src, tgt, False


def code_sentence(sentence: str, published: date) -> list[CodedEvent]:
    """Events in one sentence (see the module docstring for the rules)."""
    lower = sentence.lower()
    tail = _TAIL.search(lower)
    hi = tail.start() if tail else len(sentence)
    day = published.isoformat()
    mentions = find_mentions(sentence, day)
    verbs = [v for v in find_verbs(lower) if v.start < hi and not any(m.start <= v.start < m.end for m in mentions)]
    groups = _groups(mentions, sentence, verbs)
    when, precision = event_date(sentence, published)
    background = ([(0, m.end()) for m in [_INTRO.match(lower)] if m] + [(m.start(), m.end()) for m in _RELATIVE.finditer(lower)]
                  + [(m.start(), len(lower)) for m in _SUBORDINATE.finditer(lower) if m.start() > 0][:1]
                  + [(m.start(), m.end()) for m in _PARTICIPLE.finditer(lower)])
    prep = _PREP_INTRO.match(lower)
    if prep and not background:  # "In a letter handed to the UN on Monday, Iraq said ...": a verb with no actor before it
        inside = [v for v in verbs if v.start < prep.end()]
        if inside and not any(m.end <= inside[0].start for m in mentions):
            background.append((0, prep.end()))
    if background:  # a leading subordinate clause or a relative clause gives background, not the head, when the main clause has a verb
        main = [v for v in verbs if not any(a <= v.start < b for a, b in background)]
        if any(v.frame != "say" for v in main):
            verbs = main
            lead = max((b for a, b in background if a == 0), default=0)
            if lead:  # actors of a leading clause ("Backed by Russia, Syria ...") do not join the subject
                groups = _groups([m for m in mentions if m.start >= lead], sentence, verbs)
    # "troops backed by tanks attacked": a participle with "by" and no auxiliary modifies a noun when a verb follows
    verbs = [v for v in verbs if not (_REDUCED_BY.match(lower[v.end:]) and not _passive(lower, v)
                                      and lower[v.start:v.end].split()[-1].endswith(("ed", "en"))
                                      and any(w.start > v.end and w.frame != "say" for w in verbs))]
    # a phrase right after a determiner names an event as a noun ("the killing", "an attack"): a fallback like the nouns
    verbs = [_as_noun(v) if v.frame in ("", "weak") and _DETERMINER.search(lower[max(0, v.start - 8):v.start])
             and not _LIGHT_VERB.search(lower[max(0, v.start - 40):v.start]) else v for v in verbs]
    if any(v.frame not in ("say", "noun") for v in verbs):  # nouns name the event only when no verb does
        verbs = [v for v in verbs if v.frame != "noun"]
    lo = 0
    head_i = None
    head_code = ""
    for i, v in enumerate(verbs):
        if v.frame == "say":
            lo = v.end
            continue
        negated = _negated(lower, v) and v.frame != "deny"
        modal = _modal_code(lower, v, negated) if v.frame in ("", "noun", "weak") else None
        if negated and modal is None:
            continue
        head_i, head_code = i, modal or v.code
        break
    if head_i is None:
        return []
    head = verbs[head_i]
    rest = [v for v in verbs[head_i + 1:] if v.frame != "say" and not _negated(lower, v)]

    def event(code: str, src: tuple[Mention, ...], tgt: tuple[Mention, ...], polarity: str, rule: str, v: VerbMatch, passive: bool = False) -> CodedEvent:
        feats = {"source": bool(src), "target": bool(tgt), "words": v.entry.words, "passive": passive,
                 "rule": rule, "digits": len(code), "verbs": len(verbs), "mentions": len(mentions)}
        return CodedEvent(code, src, tgt, polarity, when, precision, calibrate_confidence(_raw_confidence(feats)), rule,
                          sentence[v.start:v.end], feats)

    if head.frame in ("allege", "deny"):
        speaker = _pick_source(groups, sentence, lo, head.start)
        embedded = next((v for v in rest if v.start >= head.end and v.frame in ("", "noun", "weak")), None)
        cut = embedded.start if embedded else hi
        that = re.search(r"\b(?:that|of|for)\b", lower[head.end:cut])
        frame_end = head.end + that.end() if that else cut
        if head.frame == "allege":
            accused = _pick_target(groups, head.end, cut, exclude=speaker)
            out = []
            neutral = lower[head.start:head.end].startswith("claim")  # "claims that" reports; "accused", "charged that" accuse
            if embedded is None or _hostile(embedded.code) or not neutral:
                out.append(event(head.code, speaker, accused, "asserted", "allege", head))
            if embedded is not None:
                src, tgt, passive = _actors_of(groups, sentence, lower, embedded, head.end, hi)
                src = src or accused
                polarity = "claimed" if _hostile(embedded.code) or not neutral else "asserted"
                out.append(event(embedded.code, src, tgt, polarity, "alleged", embedded, passive))
            return out
        # deny: "A denied B's claim that C ...", "A denied that C ...", "A denied attacking B"
        head_word = head.start + len(lower[head.start:head.end].split()[0])
        claim = _CLAIM_NOUN.search(lower[head_word:frame_end])
        claimant = _pick_target(groups, head_word, frame_end, exclude=speaker) if claim else ()
        out = []
        if embedded is not None:
            src, tgt, passive = _actors_of(groups, sentence, lower, embedded, frame_end if claim or that else head.end, hi)
            if not src and not claim:
                src = speaker
            denial_target = claimant or tgt or src
            if denial_target == speaker:
                denial_target = tgt
            out.append(event(head.code, speaker, denial_target, "asserted", "deny", head))
            if claimant and src and _hostile(embedded.code):
                out.append(event("112", claimant, src, "asserted", "claim-denied", embedded))
            out.append(event(embedded.code, src, tgt, "denied", "denied", embedded, passive))
        else:
            tgt = claimant or _pick_target(groups, head.end, hi, exclude=speaker)
            out.append(event(head.code, speaker, tgt, "asserted", "deny", head))
        return out
    src, tgt, passive = _actors_of(groups, sentence, lower, head, lo, hi)
    if head_code == "100" and lo > 0:  # "A said B must ...": A demands of B
        speaker = _pick_source(groups, sentence, 0, lo)
        if speaker and speaker != src:
            src, tgt = speaker, src or tgt
    out = [event(head_code, src, tgt, "asserted", "event" if head_code == head.code else "modal", head, passive)]
    prev = head
    for v in rest:  # coordinated predicates: "A summoned B's envoy and demanded an inquiry" -> A -> B twice
        if v.start < prev.end or v.frame not in ("", "noun", "weak") or not _AND_BEFORE.search(lower[prev.end:v.start]):
            break
        subject = _in_range(groups, lower.rfind(" and ", prev.end, v.start), v.start)
        v_src = subject[0] if subject else src
        v_tgt = _pick_target(groups, v.start + len(lower[v.start:v.end].split()[0]), hi, exclude=v_src, sentence=sentence) or (tgt if not subject else ())
        v_code = _modal_code(lower, v, False) or v.code
        if (v_code, v_src, v_tgt) != (head_code, src, tgt):
            out.append(event(v_code, v_src, v_tgt, "asserted", "coordinated", v))
        prev = v
    return out


def _raw_confidence(f: dict) -> float:
    """A score in 0-1 from how complete and specific the reading is (mapped to accuracy by the calibration table)."""
    score = 0.35
    score += 0.2 if f["source"] else -0.15
    score += 0.1 if f["target"] else 0.0
    score += 0.05 * min(f["words"] - 1, 3)
    score += 0.05 if f["digits"] >= 3 else 0.0
    score -= 0.05 * max(f["verbs"] - 3, 0)
    score += 0.05 if f["rule"] in ("deny", "allege", "claim-denied") else 0.0
    return round(max(0.01, min(0.99, score)), 3)


@lru_cache(maxsize=1)
def _calibration() -> tuple[tuple[float, float], ...]:
    path = resources.files("tension").joinpath("data", "coder_calibration.tsv")
    if not path.is_file():
        return ()
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return tuple((float(a), float(b)) for a, b, *_ in rows[1:])


def calibrate_confidence(raw: float) -> float:
    """Raw score -> measured share of correct events (step function over the calibration bins; identity without them)."""
    table = _calibration()
    if not table:
        return round(raw, 3)
    for upper, accuracy in table:
        if raw <= upper + 1e-9:
            return round(accuracy, 3)
    return round(table[-1][1], 3)
