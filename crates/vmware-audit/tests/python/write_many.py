"""A Python skill writing argv[2] rows through the package's decorator, each
with its writer name and sequence number; exits 1 if any call did not return
what the tool returned."""
import logging, sys

logging.disable(logging.CRITICAL)
from vmware_policy import vmware_tool


def list_dfw_policies(writer: str = "", seq: int = 0):
    return {"writer": writer, "seq": seq}


list_dfw_policies.__module__ = "vmware_py_skill.tools"
call = vmware_tool()(list_dfw_policies)
name, n = sys.argv[1], int(sys.argv[2])
bad = 0
for i in range(n):
    if call(writer=name, seq=i) != {"writer": name, "seq": i}:
        bad += 1
sys.exit(1 if bad else 0)
