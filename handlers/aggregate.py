"""TAP pipeline: the aggregate stage. Reads its input, does its step, passes it on."""

import json
import os


def handler(event, context):
    stage = "aggregate"
    records = event.get("Records", []) if isinstance(event, dict) else []
    print(json.dumps({"stage": stage, "records": len(records), "stream": os.environ.get("STREAM_NAME")}))
    return {"stage": stage, "processed": len(records)}
