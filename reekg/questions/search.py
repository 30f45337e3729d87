"""Find any entity by its label in English or Chinese (traditional or simplified): ranked, and fuzzy (the
closest labels and ids of any kind) when nothing matches."""

from __future__ import annotations

import difflib
from typing import Any

from .core import Answers, BadParameter
from .declare import Question, Show, register
from .params import MAX_TEXT, Param
from .schemas import integer, number, rows, text


def search(a: Answers, q: str | None) -> dict[str, Any]:
    if q is None or not q.strip():
        raise BadParameter("q", "is required")
    if len(q) > MAX_TEXT:
        raise BadParameter("q", f"is longer than {MAX_TEXT} characters")
    rows, query = a.run("search", q=q.strip())
    id_prefix = str(a.ns.id)
    hits = [{"kind": r["entity"][len(id_prefix):].split("/", 1)[0] if r["entity"].startswith(id_prefix) else None,
             "id": a.local_id(r["entity"]), "iri": r["entity"], "label": r.get("label"),
             "matched": r.get("matched"), "lang": r.get("lang"), "rank": r.get("rank")} for r in rows]
    if not hits:  # fuzzy: the closest labels or ids of any kind
        scored = []
        for kind in a.kinds():
            for match in a.closest(kind, q.strip(), n=3):
                label = match["label"] or match["id"]
                ratio = difflib.SequenceMatcher(None, q.casefold(), label.casefold()).ratio()
                scored.append((ratio, kind, match))
        scored.sort(key=lambda t: -t[0])
        hits = [{"kind": kind, "id": m["id"], "iri": str(a.ns.entity(kind, m["id"])), "label": m["label"],
                 "matched": None, "lang": None, "rank": 3, "similarity": round(ratio, 3)}
                for ratio, kind, m in scored[:10]]
    return a.answer(hits, [query], rows, q=q)


register(Question(
    "search", "Find any entity by label in en, zh-Hant or zh-Hans (ranked, fuzzy when no match)", search,
    (Param("q", "text", required=True, help="text to look for", example="釹"),), queries=("search",), order=80,
    response=rows("the entities found, best first", {
        "kind": text("the entity's kind (element, material, …)", nullable=True), "id": text("its id"),
        "iri": text("its IRI"), "label": text("its English label", nullable=True),
        "matched": text("the label that matched (null for a fuzzy match)", nullable=True),
        "lang": text("that label's language tag", nullable=True),
        "rank": integer("how well it matched: lower is better"),
        "similarity": number("a fuzzy match's similarity (0–1), when no label matched")},
        required=("kind", "id", "iri", "label", "rank")),
    cli=Show(("rank", "kind", "id", "label", "matched"),
             help="Find any entity by its label in English or Chinese (traditional or simplified).")))
