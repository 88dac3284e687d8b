"""Reading texts and splitting them into sentences."""
from __future__ import annotations

from datetime import date

import pytest

from tension.coder import read_texts, split_sentences
from tension.errors import UsageError


def test_sentences_keep_abbreviations_and_their_offsets():
    body = "Mr. Pashinyan flew to Washington. He met the U.S. president on Friday.\n\nA new paragraph! It ends here."
    got = split_sentences(body)
    assert [s for _, s in got] == ["Mr. Pashinyan flew to Washington.", "He met the U.S. president on Friday.",
                                   "A new paragraph!", "It ends here."]
    assert all(body[o:o + len(s)] == s for o, s in got)


def test_txt_header_gives_url_title_published_and_body_line(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("url: https://example.org/x\ntitle: T\npublished: 2025-07-07\n\nFirst line.\nSecond line.\n", encoding="utf-8")
    (text,) = read_texts([f])
    assert (text.id, text.url, text.title, text.published, text.first_line) == ("a.txt", "https://example.org/x", "T", date(2025, 7, 7), 5)
    assert text.body == "First line.\nSecond line."


def test_txt_without_header_is_all_body(tmp_path):
    f = tmp_path / "b.txt"
    f.write_text("Azerbaijan: talks resume.\n\nMore text.\n", encoding="utf-8")
    (text,) = read_texts([f])
    assert text.body.startswith("Azerbaijan: talks resume.") and text.published is None


@pytest.mark.parametrize(("name", "content", "match"), [
    ("c.pdf", b"%PDF-1.4", "not a .txt or .jsonl file"),
    ("d.txt", b"published: 2025-13-45\n\nText.", "not a date"),
    ("e.jsonl", b"\n\n", "is empty"),
])
def test_bad_files_say_what_is_wrong(tmp_path, name, content, match):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(UsageError, match=match):
        read_texts([f])
