"""Two tool calls through the Python package's decorator, for the TUI test:
one allowed, one denied by the rules in OPS_HOME (the denial raises)."""
from vmware_policy import vmware_tool


def py_list_hosts(cluster: str = ""):
    return {"hosts": ["esx-01", "esx-02"]}


def py_delete_host(name: str = ""):
    return {"deleted": name}


py_list_hosts.__module__ = "vmware_py_skill.tools"
py_delete_host.__module__ = "vmware_py_skill.tools"
py_list_hosts = vmware_tool()(py_list_hosts)
py_delete_host = vmware_tool(risk_level="low")(py_delete_host)

py_list_hosts(cluster="c1")
try:
    py_delete_host(name="esx-09")
except Exception as e:  # the denial
    print("denied:", e)
