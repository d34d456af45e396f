"""The manifest: what the pipeline wants, per environment, and what may be degraded to fit an account.

`load_manifest(path, env)` reads the YAML (safely, with a line map), refuses an older format version,
applies the environment profile, validates it (unknown keys are errors) and returns a `Manifest`; its
`requested(region, azs)` is the deployment as asked. `spec` holds the document's model (each kind's
part in `preflight/kinds/`), `load` the reading, `resolve` the resolving.
"""

from preflight.kinds.endpoint import EndpointSpec as EndpointSpec
from preflight.kinds.function import FunctionSpec as FunctionSpec
from preflight.kinds.stream import StreamSpec as StreamSpec
from preflight.manifest.load import load_manifest as load_manifest
from preflight.manifest.resolve import Manifest as Manifest
from preflight.manifest.resolve import endpoint_for_mode as endpoint_for_mode
from preflight.manifest.resolve import endpoint_plans as endpoint_plans
from preflight.manifest.resolve import execution_policies as execution_policies
from preflight.manifest.resolve import interface_fallback as interface_fallback
from preflight.manifest.resolve import nat_gateway_azs as nat_gateway_azs
from preflight.manifest.resolve import physical_name as physical_name
from preflight.manifest.resolve import prune as prune
from preflight.manifest.resolve import resolve as resolve
from preflight.manifest.resolve import security_group_plans as security_group_plans
from preflight.manifest.spec import MANIFEST_VERSION as MANIFEST_VERSION
from preflight.manifest.spec import SCHEMA_ID as SCHEMA_ID
from preflight.manifest.spec import ManifestDoc as ManifestDoc
from preflight.manifest.spec import manifest_json_schema as manifest_json_schema
