//! The INFO sections of RedisAI (spec §1), in RedisAI's order. Names come without the module
//! prefix: Redis adds `ai_` to a module's sections and fields itself, the standalone server
//! adds it when it renders them ([`InfoSection::prefixed`]).
//!
//! CPU times are read from `/proc` (Linux), in RedisAI's `%ld.%06ld` seconds; where there is no
//! `/proc` they read 0.

use crate::engine::Engine;

/// One INFO section: its name and its `name:value` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoSection {
    pub name: &'static str,
    pub fields: Vec<(String, String)>,
}

impl InfoSection {
    /// The section as a face without Redis's module prefixing shows it: `ai_` before the
    /// section's name and before every field's.
    pub fn prefixed(&self) -> (String, Vec<(String, String)>) {
        (
            format!("ai_{}", self.name),
            self.fields
                .iter()
                .map(|(k, v)| (format!("ai_{k}"), v.clone()))
                .collect(),
        )
    }
}

/// The names of the sections, in order: RedisAI's five (a client helper of RedisAI's tests
/// indexes them by position and compares their fields exactly), then ours, `engine`.
pub const SECTION_NAMES: [&str; 6] = [
    "versions",
    "git",
    "load_time_configs",
    "backends_info",
    "cpu",
    "engine",
];

/// The version RedisAI reports (`ai_RedisAI_version`).
pub const REDISAI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Version of the low-level C API for other modules (`ai_low_level_API_version`).
pub const LLAPI_VERSION: u32 = 1;

/// Every section, as INFO MODULES shows them.
pub fn sections(engine: &Engine) -> Vec<InfoSection> {
    SECTION_NAMES
        .iter()
        .filter_map(|name| section(engine, name))
        .collect()
}

/// One section by its name (without the prefix), if RedisAI has it.
pub fn section(engine: &Engine, name: &str) -> Option<InfoSection> {
    let field = |k: &str, v: &dyn std::fmt::Display| (k.to_string(), v.to_string());
    let (name, fields) = match name {
        "versions" => (
            "versions",
            vec![
                field("RedisAI_version", &REDISAI_VERSION),
                field("low_level_API_version", &LLAPI_VERSION),
                field("rdb_version", &crate::codec::ENCODING_VERSION),
            ],
        ),
        "git" => (
            "git",
            vec![field(
                "git_sha",
                &option_env!("REDISAI_GIT_SHA").unwrap_or("unknown"),
            )],
        ),
        "load_time_configs" => {
            let c = engine.config();
            (
                "load_time_configs",
                vec![
                    field("threads_per_queue", &c.threads_per_queue),
                    field("inter_op_parallelism", &c.inter_op_parallelism),
                    field("intra_op_parallelism", &c.intra_op_parallelism),
                    field("model_execution_timeout", &c.model_execution_timeout),
                    field("backend_memory_limit", &c.backend_memory_limit),
                ],
            )
        }
        // Ours: the inline threshold in force, measured unless configured.
        "engine" => (
            "engine",
            vec![field("inline_run_max_us", &engine.inline_run_max_us())],
        ),
        // Backends load lazily: the section is there, and empty until the first one loads.
        "backends_info" => ("backends_info", engine.backends_info()),
        "cpu" => ("cpu", cpu_fields()),
        _ => return None,
    };
    Some(InfoSection { name, fields })
}

fn cpu_fields() -> Vec<(String, String)> {
    let process = ProcStat::read("/proc/self/stat");
    let main = ProcStat::read(&format!("/proc/self/task/{}/stat", std::process::id()));
    let mut fields = vec![
        ("self_used_cpu_sys".into(), seconds(process.sys)),
        ("self_used_cpu_user".into(), seconds(process.user)),
        (
            "children_used_cpu_sys".into(),
            seconds(process.children_sys),
        ),
        (
            "children_used_cpu_user".into(),
            seconds(process.children_user),
        ),
        ("main_thread_used_cpu_sys".into(), seconds(main.sys)),
        ("main_thread_used_cpu_user".into(), seconds(main.user)),
    ];
    for (queue, i, total) in worker_cpu() {
        fields.push((format!("queue_{queue}_bthread_n{i}_used_cpu_total"), total));
    }
    fields
}

/// CPU clock ticks of a process or thread, from its `/proc/.../stat` line.
#[derive(Debug, Default, Clone, Copy)]
struct ProcStat {
    user: u64,
    sys: u64,
    children_user: u64,
    children_sys: u64,
}

impl ProcStat {
    fn read(path: &str) -> ProcStat {
        std::fs::read_to_string(path)
            .map(|s| ProcStat::parse(&s))
            .unwrap_or_default()
    }

    fn parse(stat: &str) -> ProcStat {
        // Fields after the command name (which may hold spaces and parentheses) start after
        // the last ')': state is the first of them, utime the 12th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        ProcStat {
            user: ticks(11),
            sys: ticks(12),
            children_user: ticks(13),
            children_sys: ticks(14),
        }
    }
}

/// Clock ticks (100 per second on Linux) as seconds with six decimals.
fn seconds(ticks: u64) -> String {
    format!("{}.{:06}", ticks / 100, (ticks % 100) * 10_000)
}

/// The CPU time of each run-queue worker thread: (queue, index from 1, seconds).
fn worker_cpu() -> Vec<(String, usize, String)> {
    let mut out: Vec<(String, usize, String)> = crate::exec::worker_threads()
        .into_iter()
        .map(|w| {
            let stat = ProcStat::read(&format!("/proc/self/task/{}/stat", w.tid));
            (w.queue, w.index, seconds(stat.user + stat.sys))
        })
        .collect();
    out.sort();
    // Several engines in one process (tests) have workers of the same name: listed once.
    out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let line = "42 (redis (x) 1) S 1 42 42 0 -1 4194560 100 0 0 0 250 37 12 3 20 0 4 0";
        let s = ProcStat::parse(line);
        assert_eq!(
            (s.user, s.sys, s.children_user, s.children_sys),
            (250, 37, 12, 3)
        );
        assert_eq!(seconds(250), "2.500000");
        assert_eq!(seconds(7), "0.070000");
        assert_eq!(ProcStat::parse("garbage").user, 0);
    }

    #[test]
    fn sections_in_order_with_redisai_fields() {
        let e = Engine::default();
        let s = sections(&e);
        let names: Vec<&str> = s.iter().map(|s| s.name).collect();
        assert_eq!(names, SECTION_NAMES);
        assert_eq!(s[0].fields[2], ("rdb_version".to_string(), "4".to_string()));
        assert!(s[3].fields.is_empty(), "no backend is loaded yet");
        let cpu_fields = || -> Vec<String> { cpu_fields().into_iter().map(|(k, _)| k).collect() };
        assert!(cpu_fields().contains(&"main_thread_used_cpu_user".to_string()));
        // A new thread names itself when it starts: give the CPU queue's worker a moment.
        let worker = "queue_CPU_bthread_n1_used_cpu_total".to_string();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !cpu_fields().contains(&worker) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(cpu_fields().contains(&worker), "{:?}", cpu_fields());
        let (name, fields) = s[2].prefixed();
        assert_eq!(name, "ai_load_time_configs");
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "ai_threads_per_queue",
                "ai_inter_op_parallelism",
                "ai_intra_op_parallelism",
                "ai_model_execution_timeout",
                "ai_backend_memory_limit"
            ]
        );
        assert_eq!(s[5].fields[0].0, "inline_run_max_us");
    }
}
