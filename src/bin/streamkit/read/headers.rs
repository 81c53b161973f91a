//! A record's headers as bytes, read without panicking on a name that is not UTF-8.

use rdkafka::bindings as rd;
use rdkafka::message::{Message, OwnedMessage};

/// One header as the record holds it: the name's bytes and the value (`None`: no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    /// The name, as written (any producer may write one that is not UTF-8).
    pub name: Vec<u8>,
    /// The value, if the header has one.
    pub value: Option<Vec<u8>>,
}

impl RawHeader {
    /// The name as text, invalid bytes as U+FFFD.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Every header of `message`, in order.
///
/// Read through librdkafka's C API rather than rdkafka's `Headers` trait, which panics on a
/// header name that is not UTF-8.
pub fn raw_headers(message: &OwnedMessage) -> Vec<RawHeader> {
    const OK: rd::rd_kafka_resp_err_t = rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR;
    let Some(headers) = message.headers() else {
        return Vec::new();
    };
    // rdkafka's `BorrowedHeaders` is librdkafka's header list itself.
    let list = headers.as_borrowed() as *const _ as *const rd::rd_kafka_headers_t;
    // SAFETY: `list` is the live header list owned by `message`.
    let count = unsafe { rd::rd_kafka_header_cnt(list) };
    let mut out = Vec::with_capacity(count);
    for idx in 0..count {
        let (mut name, mut value, mut size) = (std::ptr::null(), std::ptr::null(), 0usize);
        // SAFETY: `idx` is below the count; the out pointers point at locals.
        let err =
            unsafe { rd::rd_kafka_header_get_all(list, idx, &mut name, &mut value, &mut size) };
        if err != OK || name.is_null() {
            break;
        }
        // SAFETY: names are NUL-terminated and values `size` bytes (null: no value), alive as
        // long as the message.
        let name = unsafe { std::ffi::CStr::from_ptr(name) }
            .to_bytes()
            .to_vec();
        let value = (!value.is_null())
            .then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) }.to_vec());
        out.push(RawHeader { name, value });
    }
    out
}
