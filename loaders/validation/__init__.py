"""SHACL validation of a graph, and of the part of it a write changes, reported at the place each fact came from.

* :mod:`.core` — :func:`validate`: the SHACL-SPARQL constraints and SHACL Core in pyoxigraph
  (:mod:`.core_sparql` compiled to SPARQL, :mod:`.core_values` judged over the values it reads), the rest in
  pySHACL, one :class:`ValidationReport` in plain words;
* :mod:`.sparql_constraints` — which SHACL-SPARQL constraints move to pyoxigraph, as checks ready to run;
  :mod:`.sparql_queries` — the rewrites and the batch test of their query text; :mod:`.sparql_results` —
  running the checks on a store and writing their results as pySHACL writes them;
* :mod:`.incremental` — focus-node validation for writes (:func:`validate_focus`): only what a change touches;
* :mod:`.places` — :func:`line_of`, the line of a partner file that states a fact, for ``file:line`` places.
"""

from .core import ENGINES, Locator, ValidationReport, report_from_results, validate
from .incremental import FocusValidation, GraphIndex, Overlay, StoreIndex, schema_triples, validate_focus
from .places import line_of

__all__ = [
    "ENGINES", "FocusValidation", "GraphIndex", "Locator", "Overlay", "StoreIndex", "ValidationReport", "line_of",
    "report_from_results", "schema_triples", "validate", "validate_focus",
]
