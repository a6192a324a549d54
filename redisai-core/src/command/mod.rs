//! The grammar of every `AI.*` command: one module per command, each a typed struct with a pure
//! `parse` (no keyspace, no backend) and a `to_args` that formats it back.
//!
//! Checks that need the keyspace or a backend (a model's input count, a key's type) happen later,
//! in [`crate::engine`]. So a command that is both malformed and aimed at a missing key reports
//! the syntax error first (see docs/compatibility.md).

mod config;
mod dag;
mod info;
mod modeldel;
mod modelexecute;
mod modelget;
pub mod modelrun;
pub mod modelset;
mod modelstore;
mod scriptdel;
mod scriptexecute;
mod scriptget;
pub mod scriptrun;
pub mod scriptset;
mod scriptstore;
pub mod spec;
mod tensorget;
mod tensorset;

use bytes::Bytes;

pub use config::Config;
pub use dag::{parse_dag_op, Dag, DagKind, DagOp};
pub use info::Info;
pub use modeldel::ModelDel;
pub use modelexecute::ModelExecute;
pub use modelget::ModelGet;
pub use modelstore::ModelStore;
pub use scriptdel::ScriptDel;
pub use scriptexecute::ScriptExecute;
pub use scriptget::ScriptGet;
pub use scriptstore::ScriptStore;
pub use spec::{command_spec, key_positions, CommandSpec, Propagation, COMMAND_SPECS};
pub use tensorget::{format_reply as tensor_reply, DataFormat, TensorGet};
pub use tensorset::{tensor_set_args, TensorSet};

use crate::args::{eq_ignore_case, Args};
use crate::error::{Error, Result};

/// A parsed `AI.*` command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    TensorSet(TensorSet),
    TensorGet(TensorGet),
    /// AI.MODELSTORE, or AI.MODELSET when `legacy`.
    ModelStore(ModelStore),
    ModelGet(ModelGet),
    ModelDel(ModelDel),
    /// AI.MODELEXECUTE, or AI.MODELRUN when `legacy`.
    ModelExecute(ModelExecute),
    ModelScan,
    /// AI.SCRIPTSTORE, or AI.SCRIPTSET when `legacy`.
    ScriptStore(ScriptStore),
    ScriptGet(ScriptGet),
    ScriptDel(ScriptDel),
    /// AI.SCRIPTEXECUTE, or AI.SCRIPTRUN when `legacy`.
    ScriptExecute(ScriptExecute),
    ScriptScan,
    Dag(Dag),
    Info(Info),
    Config(Config),
}

/// Every command name this grammar knows, upper-case.
pub const NAMES: [&str; 22] = [
    "AI.TENSORSET",
    "AI.TENSORGET",
    "AI.MODELSTORE",
    "AI.MODELSET",
    "AI.MODELGET",
    "AI.MODELDEL",
    "AI.MODELEXECUTE",
    "AI.MODELRUN",
    "AI._MODELSCAN",
    "AI.SCRIPTSTORE",
    "AI.SCRIPTSET",
    "AI.SCRIPTGET",
    "AI.SCRIPTDEL",
    "AI.SCRIPTEXECUTE",
    "AI.SCRIPTRUN",
    "AI._SCRIPTSCAN",
    "AI.DAGEXECUTE",
    "AI.DAGEXECUTE_RO",
    "AI.DAGRUN",
    "AI.DAGRUN_RO",
    "AI.INFO",
    "AI.CONFIG",
];

impl Command {
    /// Whether argv[0] names an `AI.*` command of this grammar.
    pub fn is_ai_command(name: &[u8]) -> bool {
        NAMES.iter().any(|n| eq_ignore_case(name, n))
    }

    /// Parses a whole command line (argv[0] included). `Ok(None)` if argv[0] is not an `AI.*`
    /// command of this grammar.
    pub fn parse(argv: &[Bytes]) -> Result<Option<Command>> {
        let Some(name) = argv.first() else {
            return Ok(None);
        };
        let Some(&name) = NAMES.iter().find(|n| eq_ignore_case(name, n)) else {
            return Ok(None);
        };
        let mut args = Args::new(argv);
        let a = &mut args;
        let cmd = match name {
            "AI.TENSORSET" => Command::TensorSet(TensorSet::parse(a, false)?),
            "AI.TENSORGET" => Command::TensorGet(TensorGet::parse(a, false)?),
            "AI.MODELSTORE" => Command::ModelStore(ModelStore::parse(a)?),
            "AI.MODELSET" => Command::ModelStore(modelset::parse(a)?),
            "AI.MODELGET" => Command::ModelGet(ModelGet::parse(a)?),
            "AI.MODELDEL" => Command::ModelDel(ModelDel::parse(a)?),
            "AI.MODELEXECUTE" => Command::ModelExecute(ModelExecute::parse(a, false)?),
            "AI.MODELRUN" => Command::ModelExecute(modelrun::parse(a, false)?),
            "AI._MODELSCAN" | "AI._SCRIPTSCAN" => {
                if a.argc() != 1 {
                    return Err(Error::WrongArity(a.name()));
                }
                if name == "AI._MODELSCAN" {
                    Command::ModelScan
                } else {
                    Command::ScriptScan
                }
            }
            "AI.SCRIPTSTORE" => Command::ScriptStore(ScriptStore::parse(a)?),
            "AI.SCRIPTSET" => Command::ScriptStore(scriptset::parse(a)?),
            "AI.SCRIPTGET" => Command::ScriptGet(ScriptGet::parse(a)?),
            "AI.SCRIPTDEL" => Command::ScriptDel(ScriptDel::parse(a)?),
            "AI.SCRIPTEXECUTE" => Command::ScriptExecute(ScriptExecute::parse(a, false)?),
            "AI.SCRIPTRUN" => Command::ScriptExecute(scriptrun::parse(a, false)?),
            "AI.DAGEXECUTE" => Command::Dag(Dag::parse(a, DagKind::Execute)?),
            "AI.DAGEXECUTE_RO" => Command::Dag(Dag::parse(a, DagKind::ExecuteRo)?),
            "AI.DAGRUN" => Command::Dag(Dag::parse(a, DagKind::Run)?),
            "AI.DAGRUN_RO" => Command::Dag(Dag::parse(a, DagKind::RunRo)?),
            "AI.INFO" => Command::Info(Info::parse(a)?),
            _ => Command::Config(Config::parse(a)?),
        };
        Ok(Some(cmd))
    }

    /// The command formatted back into arguments; parsing them gives this command again.
    pub fn to_args(&self) -> Vec<Bytes> {
        match self {
            Command::TensorSet(c) => c.to_args(),
            Command::TensorGet(c) => c.to_args(),
            Command::ModelStore(c) => c.to_args(),
            Command::ModelGet(c) => c.to_args(),
            Command::ModelDel(c) => c.to_args(),
            Command::ModelExecute(c) => c.to_args(),
            Command::ModelScan => vec![Bytes::from_static(b"AI._MODELSCAN")],
            Command::ScriptStore(c) => c.to_args(),
            Command::ScriptGet(c) => c.to_args(),
            Command::ScriptDel(c) => c.to_args(),
            Command::ScriptExecute(c) => c.to_args(),
            Command::ScriptScan => vec![Bytes::from_static(b"AI._SCRIPTSCAN")],
            Command::Dag(c) => c.to_args(),
            Command::Info(c) => c.to_args(),
            Command::Config(c) => c.to_args(),
        }
    }

    /// Whether argv[0] names an executing command (checked before parsing, as the C module
    /// refuses them inside MULTI before looking at their arguments).
    pub fn is_execution_name(name: &[u8]) -> bool {
        [
            "AI.MODELEXECUTE",
            "AI.MODELRUN",
            "AI.SCRIPTEXECUTE",
            "AI.SCRIPTRUN",
            "AI.DAGEXECUTE",
            "AI.DAGEXECUTE_RO",
            "AI.DAGRUN",
            "AI.DAGRUN_RO",
        ]
        .iter()
        .any(|n| eq_ignore_case(name, n))
    }
}

/// Builds an argument vector; used by every `to_args`.
pub(crate) struct ArgsBuilder(Vec<Bytes>);

impl ArgsBuilder {
    pub fn new(name: &'static str) -> Self {
        ArgsBuilder(vec![Bytes::from_static(name.as_bytes())])
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.0.push(Bytes::copy_from_slice(s.as_bytes()));
        self
    }

    pub fn bytes(&mut self, b: &Bytes) -> &mut Self {
        self.0.push(b.clone());
        self
    }

    pub fn num(&mut self, n: impl std::fmt::Display) -> &mut Self {
        self.0.push(Bytes::from(n.to_string()));
        self
    }

    pub fn all(&mut self, items: &[Bytes]) -> &mut Self {
        self.0.extend_from_slice(items);
        self
    }

    pub fn build(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.0)
    }
}
