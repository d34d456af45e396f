"""Entry of the policy pack: Pulumi runs this file; constructing the pack serves it (and blocks)."""

from preflight.policypack.policies import serve

serve()
