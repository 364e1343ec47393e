"""The program rules that span resources and time (BRIEF section 2), computed in SQL on the search index.

:mod:`adapter.rules.config` reads their parameters (time zones, week start, limits, rates) and enforcement
modes from ``program-rules.json``; :mod:`adapter.rules.weeks` turns local program weeks into UTC instants.
"""
