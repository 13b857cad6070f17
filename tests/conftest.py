"""Test-wide set-up: no network, no user caches or tokens leak into tests."""

import os
import tempfile

# Must happen before huggingface_hub is imported anywhere (it reads these once, at import).
_HF_HOME = tempfile.mkdtemp(prefix="ws-test-hf-")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.setdefault("OMP_NUM_THREADS", "2")
