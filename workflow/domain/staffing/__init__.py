"""Can every gate be signed? The team, the template's rules and the accounts, checked before work starts.

``matching.py`` pairs required signatures with distinct people (augmenting paths, with the witness
that says why no more can be paired); ``gates.py`` turns a gate, a team and what is already signed into
"can pass", or the reason it cannot and the smallest change that fixes it; ``plan.py`` reads a staffing
plan (``team.yaml``: role -> people) for ``template check --team``.
"""
