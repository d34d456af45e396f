"""`plan --adapt`: the degradation policy, the search over it, and why each change was made.

`policy.py` reads the manifest's degradation policy once; `planner.py` searches its choices through
the same demand and evaluate as `check`; `decisions.py` builds a deployment from a choice (and checks a
plan file's choices); `concurrency.py` shares reserved concurrency; `explain.py` says why each change
was made and `impact.py` what it costs.
"""
