"""Python's free-text scrubber over a JSON list of texts (argv[1]); prints the
redacted list as JSON."""
import json, sys
from vmware_policy.decorators import _redact_secrets_text

texts = json.load(open(sys.argv[1], encoding="utf-8"))
json.dump([_redact_secrets_text(t) for t in texts], sys.stdout)
