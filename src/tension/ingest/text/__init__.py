"""Turning source bytes into rows: chunked reading, encoding checks, column counts.

Each block of a file becomes a :class:`Rows`: the well-formed records as an Arrow table of
strings (columns ``c0``, ``c1``, ...), the physical line number of each record, and a way
to get a record's raw text back. Records with invalid UTF-8, a stray carriage return
(a ``\r`` that does not end the line) or the wrong number of columns are set aside (with
line number and raw text) before parsing, so one bad line never costs the good ones.
Blank lines are not records: they are cut out of a block before anything is
materialised, so a file of millions of blank lines costs memory for its records only.
Whatever the fast Arrow parser rejects for a whole block is parsed again line by line.

Unquoted delimited files (ICEWS, GDELT, POLECAT, ICEWS-KG) are read in large blocks:
numpy finds the line breaks and counts the separators per line, Python's UTF-8 decoder
checks only the lines holding non-ASCII bytes, and ``pyarrow.csv`` parses the good lines
(multithreaded, only the columns the reader needs). Quoted CSV (ACLED, analysts' files)
goes through the standard ``csv`` module; JSONL line by line.
"""
from __future__ import annotations

from .delimited import CHUNK_BYTES, delimited_rows
from .lines import LineMap, drop_blank_lines
from .quoted import csv_rows, jsonl_rows
from .rows import STRAY_CR, Rows

__all__ = ["Rows", "STRAY_CR", "CHUNK_BYTES", "LineMap", "drop_blank_lines", "delimited_rows", "csv_rows", "jsonl_rows"]
