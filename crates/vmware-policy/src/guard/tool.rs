//! What a skill declares once per tool, and what each call brings.

use serde::Serialize;
use serde_json::{Value, json};

use crate::identity;

/// A tool as a skill declares it, once.
#[derive(Debug, Clone)]
pub struct Tool {
    pub skill: String,
    pub name: String,
    /// `low`, `medium`, `high` or `critical`; an unknown level is treated as `critical`.
    pub risk_level: String,
    /// Parameter names stored as `***`, at any depth.
    pub sensitive_params: Vec<String>,
    /// The return value is itself a credential: the row records a marker instead.
    pub sensitive_result: bool,
    /// Other names of this tool (a rename): a deny rule naming any of them matches.
    pub aliases: Vec<String>,
    /// Parameters naming a file on this host, besides the family's own
    /// (`local_path`, `ova_path`, ...): checked before the tool runs.
    pub path_params: Vec<String>,
}

impl Tool {
    /// A `low`-risk tool of `skill` named `name`.
    pub fn new(skill: &str, name: &str) -> Tool {
        Tool {
            skill: skill.into(),
            name: name.into(),
            risk_level: "low".into(),
            sensitive_params: Vec::new(),
            sensitive_result: false,
            aliases: Vec::new(),
            path_params: Vec::new(),
        }
    }
    /// A tool whose skill is named from a module path, as the Python family names
    /// it: `Tool::in_module(module_path!(), "list_segments")` in crate
    /// `vmware_nsx_security` belongs to skill `nsx_security`.
    pub fn in_module(module: &str, name: &str) -> Tool {
        Tool::new(&identity::skill_name(module), name)
    }

    pub fn risk(mut self, level: &str) -> Tool {
        self.risk_level = level.into();
        self
    }
    pub fn sensitive_params(mut self, names: &[&str]) -> Tool {
        self.sensitive_params = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn sensitive_result(mut self) -> Tool {
        self.sensitive_result = true;
        self
    }
    pub fn path_params(mut self, names: &[&str]) -> Tool {
        self.path_params = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn aliases(mut self, names: &[&str]) -> Tool {
        self.aliases = names.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// One call: its parameters, its target's environment, and what the caller
/// knows of the context (all optional).
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub params: Value,
    /// The target's `environment:` label, as the skill resolved it; `""` if none.
    pub env: String,
    pub workflow_id: String,
    /// `mcp-stdio` (also what `""` records, as Python's default), `mcp-https`,
    /// `mcp-http-loopback`, `cli` or `daemon`; anything else is recorded as
    /// `invalid:<value>`.
    pub surface: String,
    pub correlation_id: String,
    pub rationale: String,
    pub approved_by: String,
    /// The authenticated network caller's name; `None` for local calls.
    pub client: Option<String>,
    pub role: Option<String>,
    /// The agent as the client named itself (MCP `clientInfo`): recorded when
    /// no environment marker (`CLAUDECODE`, ...) names the agent.
    pub agent: Option<String>,
}

impl Call {
    /// A call with these parameters (a JSON object, or anything that serialises to one).
    pub fn new(params: impl Serialize) -> Call {
        let params =
            serde_json::to_value(params).unwrap_or_else(|e| json!({ "_raw": e.to_string() }));
        Call {
            params,
            ..Call::default()
        }
    }
    pub fn env(mut self, env: &str) -> Call {
        self.env = env.into();
        self
    }
    pub fn workflow_id(mut self, id: &str) -> Call {
        self.workflow_id = id.into();
        self
    }
    pub fn surface(mut self, surface: &str) -> Call {
        self.surface = surface.into();
        self
    }
    pub fn correlation_id(mut self, id: &str) -> Call {
        self.correlation_id = id.into();
        self
    }
    pub fn rationale(mut self, why: &str) -> Call {
        self.rationale = why.into();
        self
    }
    pub fn approved_by(mut self, who: &str) -> Call {
        self.approved_by = who.into();
        self
    }
    pub fn client(mut self, name: &str) -> Call {
        self.client = Some(name.into());
        self
    }
    pub fn role(mut self, role: &str) -> Call {
        self.role = Some(role.into());
        self
    }
    pub fn agent(mut self, name: &str) -> Call {
        self.agent = Some(name.into());
        self
    }
}
