"""What each kind of adaptation costs, in money, security and performance: plain words, as data.

Prices are us-east-1 list prices from third-party sources (2026) and are estimates: a NAT gateway is
about $0.045/hour (~$32.85/month) plus $0.045/GB, its Elastic IP $0.005/hour (~$3.65/month); an
interface endpoint about $0.01/hour per AZ (~$7.30/month per AZ) plus $0.01/GB; gateway endpoints
are free.
"""

from __future__ import annotations

from preflight.deployment import Impact

NAT_MONTHLY_USD = 32.85
EIP_MONTHLY_USD = 3.65
INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ = 7.30


def drop_gateway_endpoint(service: str) -> Impact:
    return Impact(
        cost="none: gateway endpoints are free (estimate)",
        monthly_cost_delta_usd=0.0,
        security=f"{service} traffic no longer stays on the VPC's private route to {service}",
        performance="low: requests take the public service endpoint",
    )


def drop_interface_endpoint(service: str, azs: int) -> Impact:
    saved = INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ * azs
    return Impact(
        cost=f"saves about ${saved:.2f}/month ({azs} AZ x ${INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ:.2f}) plus "
        "$0.01/GB (estimate)",
        monthly_cost_delta_usd=-saved,
        security=f"{service} calls no longer travel over PrivateLink; they use the public endpoint over TLS",
        performance="low: adds about 10-20 ms per call",
    )


def unused_endpoint(service: str, kind: str, azs: int) -> Impact:
    monthly = INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ * azs if kind == "interface" else 0.0
    cost = (
        f"about ${monthly:.2f}/month ({azs} AZ x ${INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ:.2f}) for nothing "
        "(estimate)"
        if monthly
        else "none: gateway endpoints are free (estimate)"
    )
    return Impact(
        cost=cost,
        monthly_cost_delta_usd=monthly,
        security=f"none: no VPC-attached function sends {service} traffic through it",
        performance="none",
    )


def leave_vpc() -> Impact:
    return Impact(
        cost="none; no NAT gateway is needed (a NAT route would cost about $32.85/month each, estimate)",
        monthly_cost_delta_usd=0.0,
        security="low to medium: functions lose network isolation in private subnets; IAM still limits what "
        "they may call",
        # Since 2019 Lambda makes a function's VPC network interfaces when the function is created or
        # its VPC settings change, not on a cold start: leaving the VPC speeds up deploys, not invocations.
        performance="none for invocations (VPC network interfaces are made at create time, not per cold "
        "start); creates and updates no longer wait for network interfaces",
    )


def nat_route(nat_gateways: int) -> Impact:
    monthly = nat_gateways * (NAT_MONTHLY_USD + EIP_MONTHLY_USD)
    return Impact(
        cost=f"adds about ${monthly:.2f}/month for {nat_gateways} NAT gateway(s) with Elastic IP(s), plus "
        "$0.045/GB processed (estimate)",
        monthly_cost_delta_usd=monthly,
        security="functions stay in private subnets; their AWS calls leave through the NAT gateway to public "
        "endpoints",
        performance="low: NAT adds a hop; one NAT gateway is a single-AZ dependency",
    )


def drop_nat_route(nat_gateways: int, *, attached: bool) -> Impact:
    """The requested NAT route given up (its gateways and Elastic IPs are not created); `attached`:
    the functions stay in the VPC."""
    monthly = nat_gateways * (NAT_MONTHLY_USD + EIP_MONTHLY_USD)
    return Impact(
        cost=f"saves about ${monthly:.2f}/month for {nat_gateways} NAT gateway(s) with Elastic IP(s), plus "
        "$0.045/GB processed (estimate)",
        monthly_cost_delta_usd=-monthly,
        security="functions stay in private subnets with no route to the internet: they reach only the "
        "services the VPC has endpoints for"
        if attached
        else "no NAT gateway in the path any more",
        performance="none: one hop fewer" if attached else "none",
    )


def same_resources() -> Impact:
    """A networking label that changes no resource (the planner never picks it over the request)."""
    return Impact(cost="none", security="none: the same resources", performance="none")


def combined(parts: list[Impact]) -> Impact:
    """Several effects of one change, in order: their costs added up, their words joined."""
    if len(parts) == 1:
        return parts[0]
    return Impact(
        cost="; ".join(p.cost for p in parts),
        monthly_cost_delta_usd=round(sum(p.monthly_cost_delta_usd for p in parts), 2),
        security="; ".join(p.security for p in parts),
        performance="; ".join(p.performance for p in parts),
    )


def gateway_kept(services: list[str], azs: int) -> Impact:
    """Interface stand-ins of the request deployed as the manifest's (free) gateway endpoints."""
    saved = INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ * azs * len(services)
    names = ", ".join(services)
    return Impact(
        cost=f"saves about ${saved:.2f}/month ({len(services)} endpoint(s) x {azs} AZ x "
        f"${INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ:.2f}) plus $0.01/GB: gateway endpoints are free (estimate)",
        monthly_cost_delta_usd=-saved,
        security=f"{names} traffic takes the VPC's gateway route (endpoint policy, no security group) "
        "instead of PrivateLink network interfaces",
        performance="none: no PrivateLink hop; the gateway counts against the regional gateway endpoint "
        "quota (L-1B52E74A), not the per-VPC interface quota",
    )


def execution_policy(to_basic: bool) -> Impact:
    return Impact(
        cost="none",
        security=(
            "better: least privilege, the role no longer holds the unused ENI permissions"
            if to_basic
            else "the role gains the ENI permissions that VPC-attached functions need"
        ),
        performance="none",
    )


def drop_security_group() -> Impact:
    return Impact(cost="none", security="none: nothing uses the group any more", performance="none")


def share_concurrency(requested: int, planned: int) -> Impact:
    return Impact(
        cost="none: reserved concurrency is free",
        security="none",
        performance=f"medium: the functions can run {planned} concurrent executions in total instead of "
        f"{requested}; under peak load they are throttled sooner",
    )


def drop_reservations(count: int) -> Impact:
    return Impact(
        cost="none",
        security="none",
        performance=f"medium: {count} function(s) run without reserved capacity; they share the account's "
        "unreserved pool and can be starved by other functions",
    )


def interface_fallback(
    replaced: list[tuple[str, str | None]], azs: int, security_group: str | None
) -> Impact:
    """Gateway endpoints replaced by interface endpoints: (service, URL variable or None) each."""
    monthly = INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ * azs * len(replaced)
    services = ", ".join(service for service, _ in replaced)
    dns = [
        f"{service} interface endpoints offer no private DNS: the functions get the endpoint's URL in "
        f"{variable} (the AWS SDKs and the handlers use it when set); a client that ignores it has no "
        "route out of the VPC"
        for service, variable in replaced
        if variable
    ]
    if any(service == "s3" for service, _ in replaced):
        dns.append(
            "s3 private DNS answers for every resolver in the VPC (not 'inbound only', which needs a "
            "gateway endpoint)"
        )
    return Impact(
        cost=f"adds about ${monthly:.2f}/month ({len(replaced)} endpoint(s) x {azs} AZ x "
        f"${INTERFACE_ENDPOINT_MONTHLY_USD_PER_AZ:.2f}) plus $0.01/GB processed, where the gateway "
        "endpoints were free (estimate)",
        monthly_cost_delta_usd=monthly,
        security=f"functions stay in private subnets; {services} traffic goes over PrivateLink through "
        f"network interfaces guarded by security group {security_group} instead of gateway routes"
        + ("; " + "; ".join(dns) if dns else ""),
        performance="low: a PrivateLink hop per call; the interface endpoints count against the per-VPC "
        "interface endpoint quota (L-29B6F2EB) and use one network interface per AZ each",
    )


def _vpc_quota(subnets: int, internet_gateway: bool) -> str:
    held = ["1 of VPCs per Region (L-F678F1CE)", f"{subnets} subnet(s)", "its default security group"]
    if internet_gateway:
        held.insert(1, "1 of internet gateways per Region (L-A4707A72)")
    return ", ".join(held)


def idle_vpc(subnets: int, internet_gateway: bool) -> Impact:
    """A VPC with nothing in it, deployed as requested (or kept: the manifest does not let it go)."""
    return Impact(
        cost="none in money: VPCs, subnets, route tables and internet gateways have no hourly charge "
        f"(estimate); they hold quota: {_vpc_quota(subnets, internet_gateway)}",
        monthly_cost_delta_usd=0.0,
        security="none: no function or endpoint is in it (an empty VPC is also nothing to guard)",
        performance="none",
    )


def drop_vpc(subnets: int, internet_gateway: bool) -> Impact:
    return Impact(
        cost=f"none in money (estimate); frees {_vpc_quota(subnets, internet_gateway)}",
        monthly_cost_delta_usd=0.0,
        security="none: nothing ran in it; functions outside a VPC keep IAM as their boundary",
        performance="none; the deploy creates the VPC, its subnets, route tables and gateway no more",
    )
