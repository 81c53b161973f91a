//! UUIDs in their hyphenated text form (`0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11`), read and written
//! eight characters at a time.
//!
//! Every envelope carries two or three UUIDs, and a character at a time they were a tenth of an
//! encode+decode pair (`docs/benchmarks.md`): a table lookup and a branch per character, each
//! step waiting on the one before. Here each group of eight characters is one 64-bit word: its
//! bytes are checked and converted all at once with shifts, masks and adds (the "SIMD within a
//! register" technique), so the work is a few independent chains of plain arithmetic and one
//! branch per UUID.
//!
//! The reader takes what `uuid::Uuid::try_parse_ascii` takes in this form (hex digits of either
//! case, hyphens at 8, 13, 18 and 23) and nothing else; the writer writes what `Uuid`'s
//! `Display` writes (lowercase). The tests hold both equal to the `uuid` crate on every byte
//! value in every position and on random ids.

use uuid::Uuid;

/// The length of the hyphenated form.
pub(super) const LEN: usize = 36;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The UUID written in `text`, or `None` when `text` is not its hyphenated form.
#[inline]
pub(super) fn parse(text: &[u8; LEN]) -> Option<Uuid> {
    let word = |at: usize| u64::from_le_bytes(text[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| u64::from(u32::from_le_bytes(text[at..at + 4].try_into().expect("4")));
    // The 32 digits as four words of eight, stepping over the hyphens.
    let words = [
        word(0),
        half(9) | half(14) << 32,
        half(19) | half(24) << 32,
        word(28),
    ];
    let hyphens = [text[8], text[13], text[18], text[23]] == [b'-'; 4];
    let mut nibbles = [0; 4];
    let mut valid = hyphens;
    for (out, w) in nibbles.iter_mut().zip(words) {
        let (n, ok) = digits(w);
        *out = n;
        valid &= ok;
    }
    if !valid {
        return None;
    }
    let mut bytes = [0; 16];
    for (out, n) in bytes.chunks_exact_mut(4).zip(nibbles) {
        out.copy_from_slice(&pack(n).to_le_bytes());
    }
    Some(Uuid::from_bytes(bytes))
}

/// Eight hex digits (one per byte of `w`, the first in the lowest byte) to their values, one per
/// byte, and whether all eight were hex digits.
#[inline(always)]
fn digits(w: u64) -> (u64, bool) {
    // For a byte below 0x80, `byte + (0x80 - lo)` has its top bit set exactly when
    // `byte >= lo`, and never carries into the next byte.
    let at_least = |x: u64, lo: u8| x.wrapping_add(ONES * u64::from(0x80 - lo));
    let digit = at_least(w, b'0') & !at_least(w, b'9' + 1);
    // Setting bit 5 folds `A`–`F` onto `a`–`f` (and only those onto them).
    let folded = w | (ONES * 0x20);
    let letter = at_least(folded, b'a') & !at_least(folded, b'f' + 1);
    let ok = w & HIGH == 0 && (digit | letter) & HIGH == HIGH;
    // A digit's value is its low four bits; a letter's is its low four bits plus 9.
    let values = (w & (ONES * 0x0f)) + ((letter & HIGH) >> 7) * 9;
    (values, ok)
}

/// Eight digit values (one per byte, the first in the lowest byte) to the four bytes they spell,
/// the first in the lowest byte.
#[inline(always)]
fn pack(values: u64) -> u32 {
    // Each even byte takes its own value as the high half and the next byte's as the low half.
    let pairs = ((values << 4) | (values >> 8)) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    (quads | (quads >> 16)) as u32
}

/// Writes `id` hyphenated and in lowercase into `out`.
#[inline]
pub(super) fn write(id: &Uuid, out: &mut [u8; LEN]) {
    let b = id.as_bytes();
    let text = |at: usize| spell(u32::from_be_bytes(b[at..at + 4].try_into().expect("4")));
    let [w0, w1, w2, w3] = [text(0), text(4), text(8), text(12)];
    out[0..8].copy_from_slice(&w0);
    out[8] = b'-';
    out[9..13].copy_from_slice(&w1[..4]);
    out[13] = b'-';
    out[14..18].copy_from_slice(&w1[4..]);
    out[18] = b'-';
    out[19..23].copy_from_slice(&w2[..4]);
    out[23] = b'-';
    out[24..28].copy_from_slice(&w2[4..]);
    out[28..36].copy_from_slice(&w3);
}

/// Four bytes (the first in the highest byte of `v`) as eight lowercase hex digits.
#[inline(always)]
fn spell(v: u32) -> [u8; 8] {
    // Spread each byte into a 16-bit lane, the first byte in the highest lane...
    let v = u64::from(v);
    let v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
    let v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
    // ...then its high half into the lane's high byte and its low half into the low byte.
    let v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // 0–9 become `0`–`9`; 10–15 (those that reach 16 when 6 is added) `a`–`f`.
    let above_nine = ((v + ONES * 6) >> 4) & ONES;
    (v + ONES * u64::from(b'0') + above_nine * u64::from(b'a' - b'0' - 10)).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::{LEN, parse, write};

    fn text(id: &Uuid) -> [u8; LEN] {
        let mut out = [0; LEN];
        write(id, &mut out);
        out
    }

    #[test]
    fn writes_what_uuid_displays() {
        for id in [
            Uuid::nil(),
            Uuid::max(),
            Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        ] {
            assert_eq!(std::str::from_utf8(&text(&id)).unwrap(), id.to_string());
            assert_eq!(parse(&text(&id)), Some(id));
        }
    }

    /// Every byte value in every position: what the `uuid` crate takes, and only that, is read,
    /// to the same value.
    #[test]
    fn reads_exactly_what_uuid_reads() {
        let base = *b"0193A8e2-7c1e-7b3f-9a54-6f2d1c0e8b11";
        for at in 0..LEN {
            for byte in 0..=u8::MAX {
                let mut t = base;
                t[at] = byte;
                assert_eq!(
                    parse(&t),
                    Uuid::try_parse_ascii(&t).ok(),
                    "byte {byte:#04x} at {at}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn round_trips_any_id(bits: u128, upper: bool) {
            let id = Uuid::from_u128(bits);
            let mut t = text(&id);
            prop_assert_eq!(std::str::from_utf8(&t).unwrap(), id.to_string());
            if upper {
                t.make_ascii_uppercase();
            }
            prop_assert_eq!(parse(&t), Some(id));
        }

        #[test]
        fn agrees_with_uuid_on_any_text(t in proptest::array::uniform32(any::<u8>()), tail: [u8; 4]) {
            let mut text = [0; LEN];
            text[..32].copy_from_slice(&t);
            text[32..].copy_from_slice(&tail);
            prop_assert_eq!(parse(&text), Uuid::try_parse_ascii(&text).ok());
        }
    }
}
