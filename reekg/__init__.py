"""reekg — the Rare-Earth Element Knowledge Graph.

Data flows one way: ``data/`` (tables) → ``reekg.loaders`` (mapping, provenance, inference, SHACL) →
the validated store → ``reekg.server``.
"""

__version__ = "0.1.0"
