//! Second-order taint facts of one Python file: request input a handler stores in a
//! field of a model (`Hook(url=body.url)`, `hook.url = body.url`, Django
//! `Hook.objects.create(url=..)`), and fields of a model read back (`hook.url` where `hook`
//! is a `Hook` loaded from the database, built, or annotated) that reach a SQL, command,
//! URL or file sink. The repository pass joins them by (model, field) across files
//! (`checks/security/stored_taint.rs`). Part of the file's project index part, so cached
//! with it.

use serde::{Deserialize, Serialize};

/// A step of a trace within the file: byte range and what happened there.
pub type Step = (usize, usize, String);

/// The sink family a stored field reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    Sql,
    Command,
    Ssrf,
    Path,
}

/// Request input stored in `model.field`, with the trace from the request to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldStore {
    pub model: String,
    pub field: String,
    pub trace: Vec<Step>,
    /// Stored from a parameter of a function that is not a request handler (a service's
    /// `create_schema`): request input only when a caller passes request input to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<ParamRef>,
}

/// A parameter of a function of the file: a byte inside the function, its name, and the
/// class its annotation names (empty when none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamRef {
    pub at: usize,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
}

/// `model.field` read back and handed to a sink: the call, its argument, the trace from
/// the read to the sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldUse {
    pub model: String,
    pub field: String,
    pub kind: SinkKind,
    pub start: usize,
    pub end: usize,
    pub callee: String,
    pub arg: String,
    pub trace: Vec<Step>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFacts {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<FieldStore>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<FieldUse>,
    /// Parameters of route handlers that carry request input (where services are fed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<ParamRef>,
}

impl StoredFacts {
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty() && self.uses.is_empty() && self.inputs.is_empty()
    }
}
