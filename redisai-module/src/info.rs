//! INFO MODULES / INFO ai: RedisAI's sections as core lists them. Redis adds the module's
//! `ai_` prefix to every section and field name.

use redis_module::{InfoContext, RedisResult};

use crate::state;

pub fn add_sections(ctx: &InfoContext, for_crash_report: bool) {
    let Ok(engine) = state::engine() else {
        return;
    };
    // A crash report is written from a signal handler, maybe while this thread holds a lock
    // the other sections take: only what needs no lock.
    let sections: Vec<_> = if for_crash_report {
        ["versions", "git"]
            .iter()
            .filter_map(|name| redisai_core::info::section(engine, name))
            .collect()
    } else {
        redisai_core::info::sections(engine)
    };
    // A section that was not asked for (INFO ai_cpu) is skipped by Redis, fields and all.
    let _ = build(ctx, &sections);
}

fn build(ctx: &InfoContext, sections: &[redisai_core::info::InfoSection]) -> RedisResult<()> {
    let mut builder = ctx.builder();
    for section in sections {
        let mut fields = builder.add_section(section.name);
        for (name, value) in &section.fields {
            fields = fields.field(name, value.as_str())?;
        }
        builder = fields.build_section()?;
    }
    builder.build_info().map(|_| ())
}
