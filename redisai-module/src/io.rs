//! Core's codec streams over `RedisModuleIO`: what the data types' rdb_save and rdb_load read
//! and write (Redis frames them as module values in RDB files and DUMP payloads).

use bytes::Bytes;
use redis_module::raw;
use redisai_core::codec::{RdbRead, RdbWrite};
use redisai_core::{Error, Result};

pub struct ModuleIo(pub *mut raw::RedisModuleIO);

fn short_read() -> Error {
    Error::Rdb("short read".into())
}

impl RdbWrite for ModuleIo {
    fn write_unsigned(&mut self, v: u64) {
        raw::save_unsigned(self.0, v);
    }

    fn write_signed(&mut self, v: i64) {
        raw::save_signed(self.0, v);
    }

    fn write_buffer(&mut self, b: &[u8]) {
        raw::save_slice(self.0, b);
    }

    fn write_double(&mut self, v: f64) {
        raw::save_double(self.0, v);
    }
}

// Each load checks RedisModule_IsIOError (the module sets HANDLE_IO_ERRORS), so a truncated
// payload fails the read instead of ending the server.
impl RdbRead for ModuleIo {
    fn read_unsigned(&mut self) -> Result<u64> {
        raw::load_unsigned(self.0).map_err(|_| short_read())
    }

    fn read_signed(&mut self) -> Result<i64> {
        raw::load_signed(self.0).map_err(|_| short_read())
    }

    fn read_buffer(&mut self) -> Result<Bytes> {
        let buffer = raw::load_string_buffer(self.0).map_err(|_| short_read())?;
        Ok(Bytes::copy_from_slice(buffer.as_ref()))
    }

    fn read_double(&mut self) -> Result<f64> {
        raw::load_double(self.0).map_err(|_| short_read())
    }
}
