"""An emulated AWS account at its quota limits, for trying the gate without AWS (issue 3).

moto's server does the AWS APIs; a WSGI middleware in front of it (app.py) adds what a quota gate
needs and moto lacks: Service Quotas for every service code of its own quota table (quotas.py,
servicequotas.py), Lambda GetAccountSettings and the reserved-concurrency floor, Kinesis
DescribeLimits from real streams, quota enforcement on create with AWS's error codes (EC2, Kinesis,
SNS, IAM: rules.py), paging as AWS does it (paging.py), seeded fault injection (faults.py) and a
call log (calllog.py). Scenarios (YAML, see SCENARIOS.md) set applied quotas and create the
resources other stacks own. Its rules are written from the AWS documents, never imported from the
gate's code.

    with Sandbox("seed-account") as sb:
        ec2 = sb.client("ec2")
        env = sb.client_env()  # AWS_ENDPOINT_URL etc. for any other AWS client

Facts worth knowing:
- It listens on 127.0.0.1 only, on the port given (0: a free one). Account id 123456789012; other
  accounts are reached through STS AssumeRole, each with its own state (organization.py).
- One Sandbox per process at a time (moto's state is global); each start resets that state, and so
  does `reset(scenario)` on a running one (a fresh account on the same port, for tests that go
  through many accounts).
- moto's default AMIs are not loaded (MOTO_EC2_LOAD_DEFAULT_AMIS=false unless set): nothing served
  reads them, and each reset would make them again in every region.
- Every region has moto's default VPC, and it counts against "VPCs per Region" as on AWS; it has
  no internet gateway (AWS's has one). A scenario can drop it (`defaultVpc: false`).
- IAM is not enforced (any key works) unless `Sandbox(enforce_iam=True)`: then IAM users' keys
  and policies are checked for every call (iam_enforce.py); the sandbox's own key is the root.
- Limits are the applied value set in the sandbox (scenario, `set_applied_quota`, or an approved
  RequestServiceQuotaIncrease), else the published default for the region (quotas.py).
"""

from preflight.sandbox.calllog import CallLog
from preflight.sandbox.faults import FaultConfig
from preflight.sandbox.scenario import SCENARIO_NAMES, Scenario, load_scenario
from preflight.sandbox.server import Sandbox, serve

__all__ = ["SCENARIO_NAMES", "CallLog", "FaultConfig", "Sandbox", "Scenario", "load_scenario", "serve"]
