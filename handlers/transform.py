"""TAP pipeline: the transform stage. Reads its input, does its step, passes it on."""

import json
import os


def dynamodb_endpoint():
    """DynamoDB's URL when its interface endpoint has no private DNS (the deploy sets it); else None,
    and the SDK uses the regional name. Clients made here pass it as endpoint_url."""
    return os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None


def handler(event, context):
    stage = "transform"
    records = event.get("Records", []) if isinstance(event, dict) else []
    where = {"stream": os.environ.get("STREAM_NAME"), "dynamodb": dynamodb_endpoint() or "regional"}
    print(json.dumps({"stage": stage, "records": len(records), **where}))
    return {"stage": stage, "processed": len(records)}
