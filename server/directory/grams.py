"""Character bigrams of a name, for full-text search of Chinese fragments.

Chinese has no spaces, so word tokenizers either see a whole name as one token or need a
dictionary. Indexing overlapping bigrams (the CJK approach of Lucene's CJKAnalyzer) makes any
fragment of two or more characters an exact phrase of bigrams: "食品店" → "食品 品店".
"""

from __future__ import annotations

import re

_SEP = re.compile(r"[\s\u3000()（）【】\[\]·,，、.。\-_/]+")


def _runs(text: str) -> list[str]:
    return [r for r in _SEP.split(text.lower()) if r]


def name_grams(name: str) -> str:
    """Space-separated bigrams of every run of the name, then the run's last character alone.

    A one-character query is a prefix match over these tokens: every character starts some bigram
    except a run's last one, which the trailing single-character token covers ("店" finds "…食品店").
    """
    out: list[str] = []
    for run in _runs(name):
        if len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        out.append(run[-1])
    return " ".join(out)


def query_grams(fragment: str) -> list[list[str]]:
    """The fragment as phrases of bigrams, one phrase per run (runs are ANDed by the caller)."""
    phrases = []
    for run in _runs(fragment):
        phrases.append([run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)])
    return phrases
