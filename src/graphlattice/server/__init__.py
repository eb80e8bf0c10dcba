"""A Microsoft Graph-compatible endpoint over a Range: any Graph client can drive the simulated tenant.

``graphlattice range serve`` runs it; :func:`graphlattice.server.app.create_app` builds the ASGI app;
:func:`graphlattice.server.serve.background` runs one on a thread (tests, benchmarks). Reads come from the
Range's state, every write is one of the Range's actions (journaled and logged as on the command line).
What is served and what is not: docs/graph-parity.md.

Modules: ``app`` (factory and gateway), ``auth`` (tokens), ``access`` (who may call what), ``errors``
(Graph's error body), ``odata`` and ``filters`` (query options), ``batch``, ``throttle`` (Graph's budgets),
``service`` (the range and its cached Graph JSON), ``context`` (what a route sees), ``routers`` (resource
families), ``serve`` (uvicorn).
"""
