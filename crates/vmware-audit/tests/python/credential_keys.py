"""Python's own verdict on key names: reads JSON [key, ...] from argv[1],
prints JSON [bool, ...] from vmware_policy.decorators._is_credential_key.
With argv[1] == "--words", prints the package's word lists instead."""
import json, sys
from vmware_policy import decorators as d

if sys.argv[1] == "--words":
    json.dump({"keys": sorted(d._CREDENTIAL_KEYS), "tails": list(d._CREDENTIAL_TAILS)}, sys.stdout)
else:
    keys = json.load(open(sys.argv[1], encoding="utf-8"))
    json.dump([d._is_credential_key(k) for k in keys], sys.stdout)
