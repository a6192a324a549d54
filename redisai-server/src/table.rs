//! The command table: names, arities and key positions as Redis 7 declares them, for arity
//! errors, `COMMAND`, `COMMAND COUNT` and `COMMAND DOCS`.

use std::sync::OnceLock;

use redisai_core::command::COMMAND_SPECS;

#[derive(Clone)]
pub struct Spec {
    pub name: &'static str,
    /// Redis arity: n > 0 exactly n arguments (name included), n < 0 at least -n.
    pub arity: i64,
    pub flags: &'static [&'static str],
    pub first_key: i64,
    pub last_key: i64,
    pub step: i64,
    pub group: &'static str,
    pub summary: &'static str,
}

const fn spec(
    name: &'static str,
    arity: i64,
    flags: &'static [&'static str],
    keys: (i64, i64, i64),
    group: &'static str,
    summary: &'static str,
) -> Spec {
    Spec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        group,
        summary,
    }
}

const WRITE_DENYOOM: &[&str] = &["write", "denyoom"];
const WRITE: &[&str] = &["write"];
const READONLY: &[&str] = &["readonly"];
const FAST: &[&str] = &["fast"];
const WRITE_FAST: &[&str] = &["write", "fast"];
const READONLY_FAST: &[&str] = &["readonly", "fast"];
const NO_KEYS: (i64, i64, i64) = (0, 0, 0);
const FIRST_KEY: (i64, i64, i64) = (1, 1, 1);

/// Redis's own commands that this server answers.
static GENERIC: &[Spec] = &[
    spec(
        "ping",
        -1,
        FAST,
        NO_KEYS,
        "connection",
        "Returns the server's liveliness response.",
    ),
    spec(
        "echo",
        2,
        FAST,
        NO_KEYS,
        "connection",
        "Returns the given string.",
    ),
    spec(
        "hello",
        -1,
        FAST,
        NO_KEYS,
        "connection",
        "Handshakes with the server.",
    ),
    spec(
        "auth",
        -2,
        FAST,
        NO_KEYS,
        "connection",
        "Authenticates the connection.",
    ),
    spec(
        "select",
        2,
        FAST,
        NO_KEYS,
        "connection",
        "Changes the selected database.",
    ),
    spec(
        "client",
        -2,
        &[],
        NO_KEYS,
        "connection",
        "A container for client connection commands.",
    ),
    spec(
        "command",
        -1,
        &[],
        NO_KEYS,
        "server",
        "Returns detailed information about all commands.",
    ),
    spec(
        "info",
        -1,
        &[],
        NO_KEYS,
        "server",
        "Returns information and statistics about the server.",
    ),
    spec(
        "config",
        -2,
        &[],
        NO_KEYS,
        "server",
        "A container for server configuration commands.",
    ),
    spec(
        "dbsize",
        1,
        READONLY,
        NO_KEYS,
        "server",
        "Returns the number of keys in the database.",
    ),
    spec(
        "exists",
        -2,
        READONLY,
        (1, -1, 1),
        "keyspace",
        "Determines whether one or more keys exist.",
    ),
    spec(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        "keyspace",
        "Deletes one or more keys.",
    ),
    spec(
        "unlink",
        -2,
        WRITE,
        (1, -1, 1),
        "keyspace",
        "Asynchronously deletes one or more keys.",
    ),
    spec(
        "type",
        2,
        READONLY,
        FIRST_KEY,
        "keyspace",
        "Determines the type of value stored at a key.",
    ),
    spec(
        "keys",
        2,
        READONLY,
        NO_KEYS,
        "keyspace",
        "Returns all key names that match a pattern.",
    ),
    spec(
        "scan",
        -2,
        READONLY,
        NO_KEYS,
        "keyspace",
        "Iterates over the key names in the database.",
    ),
    spec(
        "flushdb",
        -1,
        WRITE,
        NO_KEYS,
        "server",
        "Removes all keys from the current database.",
    ),
    spec(
        "flushall",
        -1,
        WRITE,
        NO_KEYS,
        "server",
        "Removes all keys from all databases.",
    ),
    spec(
        "save",
        1,
        &["admin", "noscript", "no_multi"],
        NO_KEYS,
        "server",
        "Synchronously saves the database(s) to disk.",
    ),
    spec(
        "bgsave",
        -1,
        &["admin", "noscript"],
        NO_KEYS,
        "server",
        "Asynchronously saves the database(s) to disk.",
    ),
    spec(
        "bgrewriteaof",
        1,
        &["admin", "noscript"],
        NO_KEYS,
        "server",
        "Asynchronously rewrites the append-only file to disk.",
    ),
    spec(
        "lastsave",
        1,
        FAST,
        NO_KEYS,
        "server",
        "Returns the Unix timestamp of the last successful save to disk.",
    ),
    spec(
        "debug",
        -2,
        &["admin", "noscript"],
        NO_KEYS,
        "server",
        "A container for debugging commands.",
    ),
    spec(
        "dump",
        2,
        READONLY,
        FIRST_KEY,
        "generic",
        "Returns a serialized representation of the value stored at a key.",
    ),
    spec(
        "restore",
        -4,
        WRITE_DENYOOM,
        FIRST_KEY,
        "generic",
        "Creates a key from the serialized representation of a value.",
    ),
    spec(
        "get",
        2,
        READONLY,
        FIRST_KEY,
        "string",
        "Returns the string value of a key.",
    ),
    spec(
        "expire",
        -3,
        WRITE_FAST,
        FIRST_KEY,
        "generic",
        "Sets the expiration time of a key in seconds.",
    ),
    spec(
        "pexpire",
        -3,
        WRITE_FAST,
        FIRST_KEY,
        "generic",
        "Sets the expiration time of a key in milliseconds.",
    ),
    spec(
        "expireat",
        -3,
        WRITE_FAST,
        FIRST_KEY,
        "generic",
        "Sets the expiration time of a key to a Unix timestamp.",
    ),
    spec(
        "pexpireat",
        -3,
        WRITE_FAST,
        FIRST_KEY,
        "generic",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
    ),
    spec(
        "ttl",
        2,
        READONLY_FAST,
        FIRST_KEY,
        "generic",
        "Returns the expiration time in seconds of a key.",
    ),
    spec(
        "pttl",
        2,
        READONLY_FAST,
        FIRST_KEY,
        "generic",
        "Returns the expiration time in milliseconds of a key.",
    ),
    spec(
        "expiretime",
        2,
        READONLY_FAST,
        FIRST_KEY,
        "generic",
        "Returns the expiration time of a key as a Unix timestamp.",
    ),
    spec(
        "pexpiretime",
        2,
        READONLY_FAST,
        FIRST_KEY,
        "generic",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
    ),
    spec(
        "persist",
        2,
        WRITE_FAST,
        FIRST_KEY,
        "generic",
        "Removes the expiration time of a key.",
    ),
    spec(
        "setex",
        4,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Sets the string value and expiration time of a key.",
    ),
    spec(
        "psetex",
        4,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Sets both string value and expiration time in milliseconds of a key.",
    ),
    spec(
        "set",
        -3,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Sets the string value of a key.",
    ),
    spec(
        "mget",
        -2,
        READONLY,
        (1, -1, 1),
        "string",
        "Atomically returns the string values of one or more keys.",
    ),
    spec(
        "mset",
        -3,
        WRITE_DENYOOM,
        (1, -1, 2),
        "string",
        "Atomically creates or modifies the string values of one or more keys.",
    ),
    spec(
        "hset",
        -4,
        WRITE_DENYOOM,
        FIRST_KEY,
        "hash",
        "Creates or modifies the value of a field in a hash.",
    ),
    spec(
        "incr",
        2,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    ),
    spec(
        "decr",
        2,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
    ),
    spec(
        "incrby",
        3,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
    ),
    spec(
        "decrby",
        3,
        WRITE_DENYOOM,
        FIRST_KEY,
        "string",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
    ),
    spec(
        "hlen",
        2,
        READONLY,
        FIRST_KEY,
        "hash",
        "Returns the number of fields in a hash.",
    ),
    spec(
        "hkeys",
        2,
        READONLY,
        FIRST_KEY,
        "hash",
        "Returns all fields in a hash.",
    ),
    spec(
        "hvals",
        2,
        READONLY,
        FIRST_KEY,
        "hash",
        "Returns all values in a hash.",
    ),
    spec(
        "hget",
        3,
        READONLY,
        FIRST_KEY,
        "hash",
        "Returns the value of a field in a hash.",
    ),
    spec(
        "hgetall",
        2,
        READONLY,
        FIRST_KEY,
        "hash",
        "Returns all fields and values in a hash.",
    ),
    spec(
        "hdel",
        -3,
        WRITE,
        FIRST_KEY,
        "hash",
        "Deletes one or more fields and their values from a hash.",
    ),
    spec(
        "rpush",
        -3,
        WRITE_DENYOOM,
        FIRST_KEY,
        "list",
        "Appends one or more elements to a list.",
    ),
    spec(
        "lpush",
        -3,
        WRITE_DENYOOM,
        FIRST_KEY,
        "list",
        "Prepends one or more elements to a list.",
    ),
    spec(
        "lrange",
        4,
        READONLY,
        FIRST_KEY,
        "list",
        "Returns a range of elements from a list.",
    ),
    spec(
        "llen",
        2,
        READONLY,
        FIRST_KEY,
        "list",
        "Returns the length of a list.",
    ),
    spec(
        "multi",
        1,
        FAST,
        NO_KEYS,
        "transactions",
        "Starts a transaction.",
    ),
    spec(
        "exec",
        1,
        &[],
        NO_KEYS,
        "transactions",
        "Executes all commands in a transaction.",
    ),
    spec(
        "discard",
        1,
        FAST,
        NO_KEYS,
        "transactions",
        "Discards a transaction.",
    ),
    spec(
        "quit",
        -1,
        FAST,
        NO_KEYS,
        "connection",
        "Closes the connection.",
    ),
    spec(
        "shutdown",
        -1,
        &["no_multi"],
        NO_KEYS,
        "server",
        "Stops the server.",
    ),
];

/// Every command: Redis's own, then RedisAI's as core declares them (arity -1: the module
/// checks its own arguments; flags and key positions as the C module declares them).
pub fn commands() -> &'static [Spec] {
    static ALL: OnceLock<Vec<Spec>> = OnceLock::new();
    ALL.get_or_init(|| {
        let ai = COMMAND_SPECS.iter().map(|c| Spec {
            // Once per process: the table lives as long as the server.
            name: Box::leak(c.name.to_ascii_lowercase().into_boxed_str()),
            arity: -1,
            flags: c.command_info_flags(),
            first_key: c.keys.0,
            last_key: c.keys.1,
            step: c.keys.2,
            group: "module",
            summary: c.summary,
        });
        GENERIC.iter().map(Spec::clone).chain(ai).collect()
    })
}

pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    commands()
        .iter()
        .find(|s| name.eq_ignore_ascii_case(s.name.as_bytes()))
}

impl Spec {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }
}
