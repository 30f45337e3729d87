"""The analyst questions in one place: the SPARQL library (``sparql/*.rq``, loaded by :mod:`.library`), the
parameters a question declares (:mod:`.params`) and the code that answers them."""
