"""Each command's flow behind cli.py (run: gate, check, plan, snapshot, request-increases;
place, sweep, deploy, validate, increases), the options they share, and the GitHub Action's helpers."""
