//! A core [`Reply`] as Redis replies, through the raw reply API: error texts go out byte for
//! byte (the crate would mangle non-ASCII text), doubles through `ReplyWithDouble` (formatted
//! by this Redis, as the C module's were), tensor VALUES element by element.

use std::ffi::{c_long, CString};

use redis_module::raw;
use redisai_core::Reply;

/// Sends `reply` on `ctx` (a command's, or a blocked client's reply callback's).
///
/// # Safety
/// `ctx` is a live context that may reply, on the main thread.
pub unsafe fn send(ctx: *mut raw::RedisModuleCtx, reply: &Reply) {
    match reply {
        Reply::Simple(s) => simple(ctx, s.as_bytes()),
        Reply::Status(s) => simple(ctx, s.as_bytes()),
        Reply::Error(e) => {
            let text = one_line(e.as_bytes());
            raw::RedisModule_ReplyWithError.expect("ReplyWithError")(ctx, text.as_ptr());
        }
        Reply::Int(n) => {
            raw::RedisModule_ReplyWithLongLong.expect("ReplyWithLongLong")(ctx, *n);
        }
        Reply::Double(d) => {
            raw::RedisModule_ReplyWithDouble.expect("ReplyWithDouble")(ctx, *d);
        }
        Reply::Bulk(b) => {
            raw::RedisModule_ReplyWithStringBuffer.expect("ReplyWithStringBuffer")(
                ctx,
                b.as_ptr().cast(),
                b.len(),
            );
        }
        Reply::Null => {
            raw::RedisModule_ReplyWithNull.expect("ReplyWithNull")(ctx);
        }
        Reply::Array(items) => {
            raw::RedisModule_ReplyWithArray.expect("ReplyWithArray")(ctx, items.len() as c_long);
            for item in items {
                send(ctx, item);
            }
        }
        // Redis flattens a map into an array for a RESP2 client.
        Reply::Map(pairs) => {
            raw::RedisModule_ReplyWithMap.expect("ReplyWithMap")(ctx, pairs.len() as c_long);
            for (k, v) in pairs {
                send(ctx, k);
                send(ctx, v);
            }
        }
        Reply::Values(tensor) => {
            raw::RedisModule_ReplyWithArray.expect("ReplyWithArray")(ctx, tensor.len() as c_long);
            for i in 0..tensor.len() {
                send(ctx, &tensor.value_reply(i));
            }
        }
    }
}

unsafe fn simple(ctx: *mut raw::RedisModuleCtx, text: &[u8]) {
    let text = one_line(text);
    raw::RedisModule_ReplyWithSimpleString.expect("ReplyWithSimpleString")(ctx, text.as_ptr());
}

/// A status or error text as one C string: Redis frames both up to their first CR or LF (and
/// a C string ends at its first NUL), so those become spaces.
fn one_line(text: &[u8]) -> CString {
    let text: Vec<u8> = text
        .iter()
        .map(|&b| {
            if matches!(b, b'\r' | b'\n' | 0) {
                b' '
            } else {
                b
            }
        })
        .collect();
    CString::new(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn texts_go_out_on_one_line() {
        assert_eq!(one_line(b"ERR a\r\nb\0c").as_bytes(), b"ERR a  b c");
        assert_eq!(one_line("ERR ü".as_bytes()).as_bytes(), "ERR ü".as_bytes());
    }
}
