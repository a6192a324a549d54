//! What every face declares about each `AI.*` command: its flags and key positions (spec §1),
//! so Redis Cluster's CROSSSLOT and MOVED checks, ACL key patterns and `COMMAND` see the same
//! keys on the module and on the server.
//!
//! Commands whose keys cannot be found by a fixed range (`first, last, step`) are declared
//! `getkeys`: Redis asks the module for their keys ([`key_positions`]), and the range is only
//! the first key, as in RedisAI.

use crate::args::{eq_ignore_case, parse_strict_i64};

/// A command's declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    /// Upper-case, as RedisAI documents it.
    pub name: &'static str,
    pub access: Access,
    /// Refused when Redis is out of memory (`deny-oom`).
    pub deny_oom: bool,
    /// Keys are found by [`key_positions`] (`getkeys-api`).
    pub getkeys: bool,
    /// The key range Redis reads without asking: first, last, step (0, 0, 0: no keys).
    pub keys: (i64, i64, i64),
    /// What replicas and the AOF receive when the command succeeds (spec §4.5).
    pub propagation: Propagation,
    pub summary: &'static str,
}

/// How a successful command reaches replicas and the AOF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// The command itself (stores and deletes).
    Verbatim,
    /// Not the command (a second run would be wasted, and could differ): each tensor it stores,
    /// as `AI.TENSORSET key TYPE dims BLOB data`.
    Effects,
    /// Nothing (reads, AI.CONFIG, AI.INFO RESETSTAT).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Write,
    ReadOnly,
}

impl CommandSpec {
    /// The flags string of `RedisModule_CreateCommand`.
    pub fn module_flags(&self) -> &'static str {
        match (self.access, self.deny_oom, self.getkeys) {
            (Access::Write, true, true) => "write deny-oom getkeys-api",
            (Access::Write, true, false) => "write deny-oom",
            (Access::Write, false, true) => "write getkeys-api",
            (Access::Write, false, false) => "write",
            (Access::ReadOnly, _, true) => "readonly getkeys-api",
            (Access::ReadOnly, _, false) => "readonly",
        }
    }

    /// The flags `COMMAND INFO` shows for the command, as Redis 7 shows a module's.
    pub fn command_info_flags(&self) -> &'static [&'static str] {
        match (self.access, self.deny_oom, self.getkeys) {
            (Access::Write, true, true) => &["write", "denyoom", "module", "movablekeys"],
            (Access::Write, true, false) => &["write", "denyoom", "module"],
            (Access::Write, false, true) => &["write", "module", "movablekeys"],
            (Access::Write, false, false) => &["write", "module"],
            (Access::ReadOnly, _, true) => &["readonly", "module", "movablekeys"],
            (Access::ReadOnly, _, false) => &["readonly", "module"],
        }
    }
}

const fn spec(
    name: &'static str,
    access: Access,
    deny_oom: bool,
    getkeys: bool,
    keys: (i64, i64, i64),
    summary: &'static str,
) -> CommandSpec {
    // Executing commands are the ones whose keys need the scan; stores and deletes write.
    let propagation = match (access, getkeys) {
        (Access::Write, true) => Propagation::Effects,
        (Access::ReadOnly, true) => Propagation::Effects,
        (Access::Write, false) if keys.0 == 1 => Propagation::Verbatim,
        _ => Propagation::None,
    };
    CommandSpec {
        name,
        access,
        deny_oom,
        getkeys,
        keys,
        propagation,
        summary,
    }
}

use Access::{ReadOnly, Write};

const FIRST_KEY: (i64, i64, i64) = (1, 1, 1);
const NO_KEYS: (i64, i64, i64) = (0, 0, 0);

/// Every `AI.*` command, in RedisAI's registration order.
pub static COMMAND_SPECS: [CommandSpec; 22] = [
    spec(
        "AI.TENSORSET",
        Write,
        true,
        false,
        FIRST_KEY,
        "Stores a tensor.",
    ),
    spec(
        "AI.TENSORGET",
        ReadOnly,
        false,
        false,
        FIRST_KEY,
        "Returns a tensor.",
    ),
    spec(
        "AI.MODELSTORE",
        Write,
        true,
        false,
        FIRST_KEY,
        "Stores a model.",
    ),
    spec(
        "AI.MODELSET",
        Write,
        true,
        false,
        FIRST_KEY,
        "Stores a model (deprecated).",
    ),
    spec(
        "AI.MODELGET",
        ReadOnly,
        false,
        false,
        FIRST_KEY,
        "Returns a model.",
    ),
    spec(
        "AI.MODELDEL",
        Write,
        false,
        false,
        FIRST_KEY,
        "Deletes a model.",
    ),
    spec(
        "AI.MODELRUN",
        Write,
        true,
        true,
        (3, 3, 1),
        "Runs a model (deprecated).",
    ),
    spec(
        "AI.MODELEXECUTE",
        Write,
        true,
        true,
        (4, 4, 1),
        "Runs a model.",
    ),
    spec(
        "AI._MODELSCAN",
        ReadOnly,
        false,
        false,
        NO_KEYS,
        "Lists models (experimental).",
    ),
    spec(
        "AI.SCRIPTSET",
        Write,
        true,
        false,
        FIRST_KEY,
        "Stores a TorchScript script (deprecated).",
    ),
    spec(
        "AI.SCRIPTSTORE",
        Write,
        true,
        false,
        FIRST_KEY,
        "Stores a TorchScript script.",
    ),
    spec(
        "AI.SCRIPTGET",
        ReadOnly,
        false,
        false,
        FIRST_KEY,
        "Returns a script.",
    ),
    spec(
        "AI.SCRIPTDEL",
        Write,
        false,
        false,
        FIRST_KEY,
        "Deletes a script.",
    ),
    spec(
        "AI.SCRIPTRUN",
        Write,
        true,
        true,
        (4, 4, 1),
        "Runs a script function (deprecated).",
    ),
    spec(
        "AI.SCRIPTEXECUTE",
        Write,
        true,
        true,
        (5, 5, 1),
        "Runs a script function.",
    ),
    spec(
        "AI._SCRIPTSCAN",
        ReadOnly,
        false,
        false,
        NO_KEYS,
        "Lists scripts (experimental).",
    ),
    spec(
        "AI.INFO",
        ReadOnly,
        false,
        false,
        FIRST_KEY,
        "Returns run statistics of a model or script.",
    ),
    spec(
        "AI.CONFIG",
        Write,
        false,
        false,
        NO_KEYS,
        "Configures the RedisAI engine.",
    ),
    spec(
        "AI.DAGRUN",
        Write,
        true,
        true,
        (3, 3, 1),
        "Runs a DAG (deprecated).",
    ),
    spec(
        "AI.DAGRUN_RO",
        ReadOnly,
        false,
        true,
        (3, 3, 1),
        "Runs a read-only DAG (deprecated).",
    ),
    spec(
        "AI.DAGEXECUTE",
        Write,
        true,
        true,
        (3, 3, 1),
        "Runs a DAG of tensor, model and script ops.",
    ),
    spec(
        "AI.DAGEXECUTE_RO",
        ReadOnly,
        false,
        true,
        (3, 3, 1),
        "Runs a read-only DAG.",
    ),
];

/// The declaration of the command `name` (case-insensitive).
pub fn command_spec(name: &[u8]) -> Option<&'static CommandSpec> {
    COMMAND_SPECS.iter().find(|s| eq_ignore_case(name, s.name))
}

/// The positions of the keys in `argv` (argv[0] is the command name) of a `getkeys` command,
/// as the module reports them to Redis. `None`: the arguments are too malformed to tell (the
/// command itself will refuse them); Redis then sees no keys.
///
/// Tensor names inside DAG ops are local to the DAG and are not keys; LOAD, PERSIST, ROUTING
/// and the model or script of each op are.
pub fn key_positions<A: AsRef<[u8]>>(argv: &[A]) -> Option<Vec<usize>> {
    let name = argv.first()?.as_ref();
    let spec = command_spec(name)?;
    let arg = |i: usize| argv.get(i).map(|a| a.as_ref());
    let is = |i: usize, kw: &str| arg(i).is_some_and(|a| eq_ignore_case(a, kw));
    let count = |i: usize| -> Option<usize> {
        let n = parse_strict_i64(arg(i)?)?;
        usize::try_from(n).ok().filter(|&n| n <= argv.len())
    };
    let mut keys = Vec::new();
    match spec.name {
        // key INPUTS n i.. OUTPUTS m o.. [TIMEOUT t]
        "AI.MODELEXECUTE" => {
            arg(1)?;
            keys.push(1);
            let n = count(3)?;
            let inputs = 4..4 + n;
            if inputs.end > argv.len() {
                return None;
            }
            keys.extend(inputs);
            let m = count(n + 5)?;
            let outputs = n + 6..n + 6 + m;
            if outputs.end > argv.len() {
                return None;
            }
            keys.extend(outputs);
        }
        // key [TIMEOUT t] INPUTS i.. OUTPUTS o..
        "AI.MODELRUN" => {
            arg(1)?;
            keys.push(1);
            let mut i = 2;
            if is(i, "TIMEOUT") {
                i += 2;
            }
            if is(i, "INPUTS") {
                i += 1;
            }
            keys.extend((i..argv.len()).filter(|&j| !is(j, "OUTPUTS")));
        }
        // key fn [TIMEOUT t] [INPUTS i.. [$ i..]] [OUTPUTS o..]
        "AI.SCRIPTRUN" => {
            arg(1)?;
            keys.push(1);
            let mut i = 3;
            if is(i, "TIMEOUT") {
                i += 2;
            }
            if is(i, "INPUTS") {
                i += 1;
            }
            keys.extend((i..argv.len()).filter(|&j| !is(j, "OUTPUTS") && !is(j, "$")));
        }
        // key fn [KEYS n k..] [INPUTS n t..] [ARGS n a..] [OUTPUTS n o..] [TIMEOUT t]
        "AI.SCRIPTEXECUTE" => {
            arg(2)?;
            keys.push(1);
            let mut i = 3;
            while i < argv.len() {
                if is(i, "TIMEOUT") {
                    break;
                }
                let section_keys = ["KEYS", "INPUTS", "OUTPUTS"].iter().any(|kw| is(i, kw));
                if !section_keys && !is(i, "ARGS") {
                    return None;
                }
                let n = count(i + 1)?;
                let items = i + 2..i + 2 + n;
                if items.end > argv.len() {
                    return None;
                }
                if section_keys {
                    keys.extend(items.clone());
                }
                i = items.end;
            }
        }
        // [LOAD n k..] [PERSIST n k..] [ROUTING k] [TIMEOUT t] |> op |> ...
        "AI.DAGEXECUTE" | "AI.DAGEXECUTE_RO" | "AI.DAGRUN" | "AI.DAGRUN_RO" => {
            let mut i = 1;
            while i < argv.len() && !is(i, "|>") {
                if is(i, "LOAD") || is(i, "PERSIST") {
                    let n = count(i + 1)?;
                    let items = i + 2..i + 2 + n;
                    if items.end > argv.len() {
                        return None;
                    }
                    keys.extend(items.clone());
                    i = items.end;
                } else if is(i, "ROUTING") {
                    arg(i + 1)?;
                    keys.push(i + 1);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            let runs = [
                "AI.MODELEXECUTE",
                "AI.SCRIPTEXECUTE",
                "AI.MODELRUN",
                "AI.SCRIPTRUN",
            ];
            for j in i..argv.len() {
                let op_start = j > 0 && is(j - 1, "|>");
                if !(op_start && runs.iter().any(|r| is(j, r)) && arg(j + 1).is_some()) {
                    continue;
                }
                keys.push(j + 1);
                // A script op's KEYS are keys of the keyspace; its INPUTS and OUTPUTS are names
                // local to the DAG.
                if is(j, "AI.SCRIPTEXECUTE") {
                    let mut k = j + 3;
                    while k < argv.len() && !is(k, "|>") {
                        if is(k, "KEYS") {
                            let n = count(k + 1)?;
                            let items = k + 2..k + 2 + n;
                            if items.end > argv.len() {
                                return None;
                            }
                            keys.extend(items.clone());
                            k = items.end;
                        } else {
                            k += 1;
                        }
                    }
                }
            }
        }
        _ => {
            let (first, last, step) = spec.keys;
            if first == 0 {
                return Some(keys);
            }
            let last = if last < 0 {
                argv.len() as i64 + last
            } else {
                last
            };
            let mut k = first;
            while k <= last && (k as usize) < argv.len() {
                keys.push(k as usize);
                k += step.max(1);
            }
        }
    }
    Some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Option<Vec<usize>> {
        let argv: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        key_positions(&argv)
    }

    #[test]
    fn every_command_is_declared_once_with_its_flags() {
        assert_eq!(COMMAND_SPECS.len(), crate::command::NAMES.len());
        for name in crate::command::NAMES {
            assert!(command_spec(name.as_bytes()).is_some(), "{name}");
        }
        let flags = |n: &str| command_spec(n.as_bytes()).map(|s| s.module_flags());
        assert_eq!(flags("ai.tensorset"), Some("write deny-oom"));
        assert_eq!(flags("AI.TENSORGET"), Some("readonly"));
        assert_eq!(flags("AI.MODELDEL"), Some("write"));
        assert_eq!(flags("AI.MODELEXECUTE"), Some("write deny-oom getkeys-api"));
        assert_eq!(flags("AI.DAGEXECUTE_RO"), Some("readonly getkeys-api"));
        assert_eq!(flags("AI.CONFIG"), Some("write"));
        assert_eq!(flags("AI.NOPE"), None);
        let propagation = |n: &str| command_spec(n.as_bytes()).map(|s| s.propagation);
        for verbatim in [
            "AI.TENSORSET",
            "AI.MODELSTORE",
            "AI.MODELSET",
            "AI.MODELDEL",
            "AI.SCRIPTSTORE",
            "AI.SCRIPTSET",
            "AI.SCRIPTDEL",
        ] {
            assert_eq!(
                propagation(verbatim),
                Some(Propagation::Verbatim),
                "{verbatim}"
            );
        }
        for effects in [
            "AI.MODELEXECUTE",
            "AI.SCRIPTRUN",
            "AI.DAGEXECUTE",
            "AI.DAGRUN_RO",
        ] {
            assert_eq!(
                propagation(effects),
                Some(Propagation::Effects),
                "{effects}"
            );
        }
        for none in ["AI.TENSORGET", "AI.CONFIG", "AI.INFO", "AI._MODELSCAN"] {
            assert_eq!(propagation(none), Some(Propagation::None), "{none}");
        }
    }

    #[test]
    fn model_execute_reports_model_inputs_and_outputs() {
        assert_eq!(
            keys("AI.MODELEXECUTE m INPUTS 2 a b OUTPUTS 1 c TIMEOUT 5"),
            Some(vec![1, 4, 5, 8])
        );
        assert_eq!(keys("AI.MODELEXECUTE m INPUTS 9 a b OUTPUTS 1 c"), None);
        assert_eq!(keys("AI.MODELEXECUTE m INPUTS x a OUTPUTS 1 c"), None);
        assert_eq!(keys("AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 3 c"), None);
        assert_eq!(
            keys("AI.MODELRUN m TIMEOUT 5 INPUTS a b OUTPUTS c"),
            Some(vec![1, 5, 6, 8])
        );
    }

    #[test]
    fn script_commands_report_keys_inputs_and_outputs_not_args() {
        assert_eq!(
            keys("AI.SCRIPTEXECUTE s f KEYS 1 k INPUTS 2 a b ARGS 2 x y OUTPUTS 1 o"),
            Some(vec![1, 5, 8, 9, 16])
        );
        // The C module missed the keys of a last section (spec §1 [Q]); they are reported.
        assert_eq!(keys("AI.SCRIPTEXECUTE s f INPUTS 1 a"), Some(vec![1, 5]));
        assert_eq!(
            keys("AI.SCRIPTEXECUTE s f INPUTS 1 a TIMEOUT 3"),
            Some(vec![1, 5])
        );
        assert_eq!(keys("AI.SCRIPTEXECUTE s f BOGUS 1 a"), None);
        assert_eq!(
            keys("AI.SCRIPTRUN s f TIMEOUT 3 INPUTS a $ b OUTPUTS c"),
            Some(vec![1, 6, 8, 10])
        );
    }

    #[test]
    fn dags_report_load_persist_routing_and_op_keys_not_local_names() {
        assert_eq!(
            keys(
                "AI.DAGEXECUTE LOAD 1 a PERSIST 1 c ROUTING r |> AI.MODELEXECUTE m INPUTS 1 a OUTPUTS 1 c |> AI.SCRIPTEXECUTE s f INPUTS 1 c OUTPUTS 1 d |> AI.TENSORGET d VALUES"
            ),
            Some(vec![3, 6, 8, 11, 20])
        );
        // A local name that looks like a keyword is not a section.
        assert_eq!(
            keys("AI.DAGEXECUTE_RO |> AI.TENSORSET LOAD FLOAT 1 |> AI.TENSORGET LOAD"),
            Some(vec![])
        );
        assert_eq!(keys("AI.DAGRUN LOAD 5 a |> AI.TENSORGET a"), None);
        // A script op's KEYS are keys; its INPUTS and OUTPUTS are DAG-local.
        assert_eq!(
            keys("AI.DAGEXECUTE ROUTING r |> AI.SCRIPTEXECUTE s f KEYS 2 k1 k2 INPUTS 1 t OUTPUTS 1 u |> AI.TENSORGET u"),
            Some(vec![2, 5, 9, 10])
        );
    }

    #[test]
    fn fixed_ranges_for_the_other_commands() {
        assert_eq!(keys("AI.TENSORSET t FLOAT 1"), Some(vec![1]));
        assert_eq!(keys("AI.CONFIG BACKENDSPATH /x"), Some(vec![]));
        assert_eq!(keys("AI.TENSORGET"), Some(vec![]));
    }
}
