//! The bytes a JSON string cannot hold as they are, shared by the encoder, the fast decoder
//! and [`ServiceName`](crate::envelope::ServiceName)'s check for names that need no escaping.

/// Whether a JSON string must escape `byte` (a control character, the quote, the backslash).
pub(crate) fn needs_escape(byte: u8) -> bool {
    NEEDS_ESCAPE[usize::from(byte)]
}

/// The bytes a JSON string cannot hold as they are: control characters, the quote, the
/// backslash. The encoder escapes a string holding one; the fast decoder stops at one.
pub(crate) static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};
