//! The command table: names, arities and key positions as Redis 7 declares them, for arity
//! errors, `COMMAND`, `COMMAND COUNT` and `COMMAND DOCS`.

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

const W: &[&str] = &["write", "denyoom"];
const WR: &[&str] = &["write"];
const R: &[&str] = &["readonly"];
const F: &[&str] = &["fast"];
const NOK: (i64, i64, i64) = (0, 0, 0);
const K1: (i64, i64, i64) = (1, 1, 1);

pub static COMMANDS: &[Spec] = &[
    spec("ping", -1, F, NOK, "connection", "Returns the server's liveliness response."),
    spec("echo", 2, F, NOK, "connection", "Returns the given string."),
    spec("hello", -1, F, NOK, "connection", "Handshakes with the server."),
    spec("auth", -2, F, NOK, "connection", "Authenticates the connection."),
    spec("select", 2, F, NOK, "connection", "Changes the selected database."),
    spec("client", -2, &[], NOK, "connection", "A container for client connection commands."),
    spec("command", -1, &[], NOK, "server", "Returns detailed information about all commands."),
    spec("info", -1, &[], NOK, "server", "Returns information and statistics about the server."),
    spec("config", -2, &[], NOK, "server", "A container for server configuration commands."),
    spec("dbsize", 1, R, NOK, "server", "Returns the number of keys in the database."),
    spec("exists", -2, R, (1, -1, 1), "keyspace", "Determines whether one or more keys exist."),
    spec("del", -2, WR, (1, -1, 1), "keyspace", "Deletes one or more keys."),
    spec("unlink", -2, WR, (1, -1, 1), "keyspace", "Asynchronously deletes one or more keys."),
    spec("type", 2, R, K1, "keyspace", "Determines the type of value stored at a key."),
    spec("keys", 2, R, NOK, "keyspace", "Returns all key names that match a pattern."),
    spec("scan", -2, R, NOK, "keyspace", "Iterates over the key names in the database."),
    spec("flushdb", -1, WR, NOK, "server", "Removes all keys from the current database."),
    spec("flushall", -1, WR, NOK, "server", "Removes all keys from all databases."),
    spec("get", 2, R, K1, "string", "Returns the string value of a key."),
    spec("set", -3, W, K1, "string", "Sets the string value of a key."),
    spec("mget", -2, R, (1, -1, 1), "string", "Atomically returns the string values of one or more keys."),
    spec("mset", -3, W, (1, -1, 2), "string", "Atomically creates or modifies the string values of one or more keys."),
    spec("hset", -4, W, K1, "hash", "Creates or modifies the value of a field in a hash."),
    spec("hget", 3, R, K1, "hash", "Returns the value of a field in a hash."),
    spec("hgetall", 2, R, K1, "hash", "Returns all fields and values in a hash."),
    spec("hdel", -3, WR, K1, "hash", "Deletes one or more fields and their values from a hash."),
    spec("rpush", -3, W, K1, "list", "Appends one or more elements to a list."),
    spec("lpush", -3, W, K1, "list", "Prepends one or more elements to a list."),
    spec("lrange", 4, R, K1, "list", "Returns a range of elements from a list."),
    spec("llen", 2, R, K1, "list", "Returns the length of a list."),
    spec("multi", 1, F, NOK, "transactions", "Starts a transaction."),
    spec("exec", 1, &[], NOK, "transactions", "Executes all commands in a transaction."),
    spec("discard", 1, F, NOK, "transactions", "Discards a transaction."),
    spec("quit", -1, F, NOK, "connection", "Closes the connection."),
    spec("shutdown", -1, &[], NOK, "server", "Stops the server."),
    // RedisAI (the module's own arity checks apply: -1), key positions as the C module declares.
    spec("ai.tensorset", -1, W, K1, "module", "Stores a tensor."),
    spec("ai.tensorget", -1, R, K1, "module", "Returns a tensor."),
    spec("ai.modelstore", -1, W, K1, "module", "Stores a model."),
    spec("ai.modelset", -1, W, K1, "module", "Stores a model (deprecated)."),
    spec("ai.modelget", -1, R, K1, "module", "Returns a model."),
    spec("ai.modeldel", -1, WR, K1, "module", "Deletes a model."),
    spec("ai.modelexecute", -1, W, (4, 4, 1), "module", "Runs a model."),
    spec("ai.modelrun", -1, W, (3, 3, 1), "module", "Runs a model (deprecated)."),
    spec("ai._modelscan", -1, R, NOK, "module", "Lists models (experimental)."),
    spec("ai.scriptstore", -1, W, K1, "module", "Stores a TorchScript script."),
    spec("ai.scriptset", -1, W, K1, "module", "Stores a TorchScript script (deprecated)."),
    spec("ai.scriptget", -1, R, K1, "module", "Returns a script."),
    spec("ai.scriptdel", -1, WR, K1, "module", "Deletes a script."),
    spec("ai.scriptexecute", -1, W, (5, 5, 1), "module", "Runs a script function."),
    spec("ai.scriptrun", -1, W, (4, 4, 1), "module", "Runs a script function (deprecated)."),
    spec("ai._scriptscan", -1, R, NOK, "module", "Lists scripts (experimental)."),
    spec("ai.dagexecute", -1, W, (3, 3, 1), "module", "Runs a DAG of tensor, model and script ops."),
    spec("ai.dagexecute_ro", -1, R, (3, 3, 1), "module", "Runs a read-only DAG."),
    spec("ai.dagrun", -1, W, (3, 3, 1), "module", "Runs a DAG (deprecated)."),
    spec("ai.dagrun_ro", -1, R, (3, 3, 1), "module", "Runs a read-only DAG (deprecated)."),
    spec("ai.info", -1, R, K1, "module", "Returns run statistics of a model or script."),
    spec("ai.config", -1, WR, NOK, "module", "Configures the RedisAI engine."),
];

pub fn lookup(name: &[u8]) -> Option<&'static Spec> {
    COMMANDS
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
