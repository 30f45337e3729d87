"""rdflib-endpoint as a peer: ``python -m bench.rdflib_peer DATA.nq PORT`` serves the N-Quads file from an
rdflib Dataset whose default graph is the union of its graphs, at ``http://127.0.0.1:PORT/`` (rdflib-endpoint
0.6 serves SPARQL at ``/``), under uvicorn with one worker."""

from __future__ import annotations

import sys


def main() -> None:
    import uvicorn
    from rdflib import Dataset
    from rdflib_endpoint import SparqlEndpoint

    path, port = sys.argv[1], int(sys.argv[2])
    dataset = Dataset(default_union=True)
    dataset.parse(path, format="nquads")
    app = SparqlEndpoint(graph=dataset, path="/", public_url=f"http://127.0.0.1:{port}/", cors_enabled=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
