"""The shipped Pulumi policy pack: holds `pulumi up` on the shipped program to the tap-preflight plan."""
