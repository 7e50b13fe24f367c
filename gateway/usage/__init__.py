"""Usage you can see: the admin usage page and JSON (``routes``), near-limit events
(``alerts``), limits learned from LinkedIn's 429s (``learned``), shadow mode (``shadow``);
``recorder`` keeps the request path's notes, ``ledger`` stores them, ``context`` wires them.

Import the modules themselves: the runtime imports ``recorder``, so this file imports nothing.
"""
