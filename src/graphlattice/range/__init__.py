"""The Range: an offline, stateful, simulated Entra tenant to rehearse an attack and its cleanup.

The engine (state, store, clock, ids, records, sessions, actions) lives here; :class:`Range` is the facade
the command line, the scenario player and the verifier use.
"""
