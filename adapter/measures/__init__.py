"""The program measures (BRIEF §2 rules that span resources and time), computed in SQL on the index tables.

One module per measure (:mod:`weekly_contact`, :mod:`team_meeting`, :mod:`followup_after_discharge`,
:mod:`pcmh_incentive`), the shared week logic of CMP in :mod:`cmp_weeks`, the evaluation core in :mod:`core`,
the per-member weekly compliance in :mod:`compliance`, and the MeasureReport in :mod:`report`.
"""
