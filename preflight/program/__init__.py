"""The shipped Pulumi program of the TAP pipeline, and the tools that check it before it runs.

Only `pipeline`, `entry`, `mockrun`, `verify` and `rehearse` import pulumi; `planfile`, `names` and
`lint` do not, so `check`, `plan` and `lint` never pay for the Pulumi SDK.
"""
