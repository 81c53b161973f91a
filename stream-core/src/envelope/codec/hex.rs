//! UUIDs in their hyphenated text form (`0193a8e2-7c1e-7b3f-9a54-6f2d1c0e8b11`), read and
//! written sixteen digits at a time with SSE2.
//!
//! Every envelope carries two or three UUIDs, and the `uuid` crate's parser (161 instructions an
//! id, a table lookup and a branch per character) and our earlier table writer were a tenth of
//! an encode+decode pair (`docs/benchmarks.md`). SSE2, which every x86-64 CPU has, checks and
//! converts sixteen digits per instruction: 41 instructions to read an id, 44 to write one.
//! Other targets (or an x86-64 build without SSE2) use a portable reader that takes eight digits
//! per 64-bit word with shifts, masks and adds, and a two-digit table writer.
//!
//! The readers take what `uuid::Uuid::try_parse_ascii` takes in this form (hex digits of either
//! case, hyphens at 8, 13, 18 and 23) and nothing else; the writers write what `Uuid`'s
//! `Display` writes (lowercase). The tests run both readers and both writers, whatever the
//! target, against the `uuid` crate: every byte value in every position, random ids, and
//! random hyphenated texts with a few bytes changed.

use uuid::Uuid;

/// The length of the hyphenated form.
pub(super) const LEN: usize = 36;

/// The UUID written in `text`, or `None` when `text` is not its hyphenated form.
#[inline]
pub(super) fn parse(text: &[u8; LEN]) -> Option<Uuid> {
    let hyphens = [text[8], text[13], text[18], text[23]] == [b'-'; 4];
    let digits = words(text);
    // SAFETY: compiled only where SSE2 is enabled for the whole build (`target_feature`), which
    // x86-64 targets are by default: every CPU the build runs on has it.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    let bytes = unsafe { sse2::parse(digits) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    let bytes = portable::swar_parse(digits);
    bytes.filter(|_| hyphens).map(Uuid::from_bytes)
}

/// The 32 digits of `text` as four words of eight (the first digit in the lowest byte),
/// stepping over the hyphens.
#[inline(always)]
fn words(text: &[u8; LEN]) -> [u64; 4] {
    let word = |at: usize| u64::from_le_bytes(text[at..at + 8].try_into().expect("8 bytes"));
    let half = |at: usize| u64::from(u32::from_le_bytes(text[at..at + 4].try_into().expect("4")));
    [
        word(0),
        half(9) | (half(14) << 32),
        half(19) | (half(24) << 32),
        word(28),
    ]
}

/// The same with SSE2, which every x86-64 CPU has: sixteen digits per instruction.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8,
        _mm_cvtsi128_si64, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_packus_epi16,
        _mm_set_epi64x, _mm_set1_epi8, _mm_set1_epi16, _mm_slli_epi16, _mm_srli_epi16,
        _mm_srli_si128, _mm_sub_epi8, _mm_unpackhi_epi8, _mm_unpacklo_epi8,
    };

    /// Sixteen hex digits to their values (one per byte) and a mask of the bytes that were
    /// hex digits (all ones there).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn values(v: __m128i) -> (__m128i, __m128i) {
        let below = |x: __m128i, n: u8| {
            // Unsigned `x < n` per byte: `min(x, n - 1) == x`.
            _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8((n - 1) as i8)), x)
        };
        let digit = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
        // Setting bit 5 folds `A`–`F` onto `a`–`f` (and nothing else onto them).
        let letter = _mm_sub_epi8(
            _mm_or_si128(v, _mm_set1_epi8(0x20)),
            _mm_set1_epi8(b'a' as i8),
        );
        let is_digit = below(digit, 10);
        let is_letter = below(letter, 6);
        let value = _mm_or_si128(
            _mm_and_si128(is_digit, digit),
            _mm_andnot_si128(is_digit, _mm_add_epi8(letter, _mm_set1_epi8(10))),
        );
        (value, _mm_or_si128(is_digit, is_letter))
    }

    /// Each pair of values (first, second) as one byte `first << 4 | second`, in a 16-bit lane.
    #[inline]
    #[target_feature(enable = "sse2")]
    fn pairs(values: __m128i) -> __m128i {
        let first = _mm_and_si128(values, _mm_set1_epi16(0x00ff));
        _mm_or_si128(_mm_slli_epi16(first, 4), _mm_srli_epi16(values, 8))
    }

    /// The 32 lowercase digits of sixteen bytes: each byte's two halves side by side, then
    /// 0–9 to `0`–`9` and 10–15 to `a`–`f`, sixteen digits per instruction.
    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn spell(bytes: &[u8; 16]) -> [u8; 32] {
        let half = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().expect("8"));
        let v = _mm_set_epi64x(half(8), half(0));
        let low4 = _mm_set1_epi8(0x0f);
        let high = _mm_and_si128(_mm_srli_epi16(v, 4), low4);
        let low = _mm_and_si128(v, low4);
        let ascii = |n: __m128i| {
            let letters = _mm_and_si128(
                _mm_cmpgt_epi8(n, _mm_set1_epi8(9)),
                _mm_set1_epi8((b'a' - b'0' - 10) as i8),
            );
            _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8(b'0' as i8)), letters)
        };
        let first = ascii(_mm_unpacklo_epi8(high, low));
        let second = ascii(_mm_unpackhi_epi8(high, low));
        let mut out = [0; 32];
        for (at, v) in [(0, first), (16, second)] {
            let lo = _mm_cvtsi128_si64(v);
            let hi = _mm_cvtsi128_si64(_mm_srli_si128(v, 8));
            out[at..at + 8].copy_from_slice(&lo.to_le_bytes());
            out[at + 8..at + 16].copy_from_slice(&hi.to_le_bytes());
        }
        out
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn parse(words: [u64; 4]) -> Option<[u8; 16]> {
        let [a, b, c, d] = words.map(|w| w as i64);
        let (low, low_ok) = values(_mm_set_epi64x(b, a));
        let (high, high_ok) = values(_mm_set_epi64x(d, c));
        if _mm_movemask_epi8(_mm_and_si128(low_ok, high_ok)) != 0xffff {
            return None;
        }
        let bytes = _mm_packus_epi16(pairs(low), pairs(high));
        let first = _mm_cvtsi128_si64(bytes) as u64;
        let second = _mm_cvtsi128_si64(_mm_srli_si128(bytes, 8)) as u64;
        let mut out = [0; 16];
        out[..8].copy_from_slice(&first.to_le_bytes());
        out[8..].copy_from_slice(&second.to_le_bytes());
        Some(out)
    }
}

/// Writes `id` hyphenated and in lowercase into `out`.
#[inline]
pub(super) fn write(id: &Uuid, out: &mut [u8; LEN]) {
    // SAFETY: compiled only where SSE2 is enabled for the whole build (`target_feature`), which
    // x86-64 targets are by default: every CPU the build runs on has it.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    let digits = unsafe { sse2::spell(id.as_bytes()) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    let digits = portable::table_spell(id.as_bytes());
    out[0..8].copy_from_slice(&digits[0..8]);
    out[9..13].copy_from_slice(&digits[8..12]);
    out[14..18].copy_from_slice(&digits[12..16]);
    out[19..23].copy_from_slice(&digits[16..20]);
    out[24..36].copy_from_slice(&digits[20..32]);
    for at in [8, 13, 18, 23] {
        out[at] = b'-';
    }
}

/// The portable reader and writer: eight digits per 64-bit word with shifts, masks and adds
/// (the "SIMD within a register" technique), and a two-digit table. Used where SSE2 is not
/// enabled, and tested everywhere against the SSE2 code and the `uuid` crate.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
mod portable {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;

    /// The sixteen bytes 32 hex digits spell, in plain 64-bit arithmetic (any target).
    pub(super) fn swar_parse(words: [u64; 4]) -> Option<[u8; 16]> {
        // One word gathers every byte's verdict, so that there is one branch, not one per group.
        let mut bad = 0;
        let mut bytes = [0; 16];
        for (out, w) in bytes.chunks_exact_mut(4).zip(words) {
            let (values, not_hex) = digits(w);
            bad |= not_hex;
            out.copy_from_slice(&pack(values).to_le_bytes());
        }
        (bad == 0).then_some(bytes)
    }

    /// Eight hex digits (one per byte of `w`, the first in the lowest byte) to their values, one
    /// per byte, and a word whose top bits mark the bytes that were not hex digits (0 if all
    /// were).
    #[inline(always)]
    fn digits(w: u64) -> (u64, u64) {
        // For a byte below 0x80, `byte + (0x80 - lo)` has its top bit set exactly when
        // `byte >= lo`, and never carries into the next byte (bytes from 0x80 up are refused
        // whatever the other bytes' results).
        let at_least = |x: u64, lo: u8| x.wrapping_add(ONES * u64::from(0x80 - lo));
        let digit = at_least(w, b'0') & !at_least(w, b'9' + 1);
        // Setting bit 5 folds `A`–`F` onto `a`–`f` (and only those onto them).
        let folded = w | (ONES * 0x20);
        let letter = at_least(folded, b'a') & !at_least(folded, b'f' + 1);
        let not_hex = (w | !(digit | letter)) & HIGH;
        // A digit's value is its low four bits; a letter's is its low four bits plus 9.
        let values = (w & (ONES * 0x0f)) + ((letter & HIGH) >> 7) * 9;
        (values, not_hex)
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

    /// The 32 lowercase digits of sixteen bytes, two per byte from a table (any target).
    pub(super) fn table_spell(bytes: &[u8; 16]) -> [u8; 32] {
        static PAIRS: [[u8; 2]; 256] = {
            let digits = *b"0123456789abcdef";
            let mut table = [[0; 2]; 256];
            let mut b = 0;
            while b < 256 {
                table[b] = [digits[b >> 4], digits[b & 15]];
                b += 1;
            }
            table
        };
        let mut out = [0; 32];
        for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
            pair.copy_from_slice(&PAIRS[usize::from(*byte)]);
        }
        out
    }
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

    /// The portable writer's digits, whatever this target's [`write`] uses.
    fn table_text(id: &Uuid) -> String {
        let d = super::portable::table_spell(id.as_bytes());
        let d = std::str::from_utf8(&d).unwrap();
        format!(
            "{}-{}-{}-{}-{}",
            &d[..8],
            &d[8..12],
            &d[12..16],
            &d[16..20],
            &d[20..]
        )
    }

    #[test]
    fn writes_what_uuid_displays() {
        for id in [
            Uuid::nil(),
            Uuid::max(),
            Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        ] {
            assert_eq!(std::str::from_utf8(&text(&id)).unwrap(), id.to_string());
            assert_eq!(table_text(&id), id.to_string());
            assert_eq!(parse(&text(&id)), Some(id));
        }
    }

    /// The portable reader, whatever this target's [`parse`] uses.
    fn swar(t: &[u8; LEN]) -> Option<Uuid> {
        let hyphens = [t[8], t[13], t[18], t[23]] == [b'-'; 4];
        super::portable::swar_parse(super::words(t))
            .filter(|_| hyphens)
            .map(Uuid::from_bytes)
    }

    /// Every byte value in every position: what the `uuid` crate takes, and only that, is read,
    /// to the same value, by both readers.
    #[test]
    fn reads_exactly_what_uuid_reads() {
        let base = *b"0193A8e2-7c1e-7b3f-9a54-6f2d1c0e8b11";
        for at in 0..LEN {
            for byte in 0..=u8::MAX {
                let mut t = base;
                t[at] = byte;
                let expected = Uuid::try_parse_ascii(&t).ok();
                assert_eq!(parse(&t), expected, "byte {byte:#04x} at {at}");
                assert_eq!(swar(&t), expected, "byte {byte:#04x} at {at}");
            }
        }
    }

    proptest! {
        #[test]
        fn round_trips_any_id(bits: u128, upper: bool) {
            let id = Uuid::from_u128(bits);
            let mut t = text(&id);
            prop_assert_eq!(std::str::from_utf8(&t).unwrap(), id.to_string());
            prop_assert_eq!(table_text(&id), id.to_string());
            if upper {
                t.make_ascii_uppercase();
            }
            prop_assert_eq!(parse(&t), Some(id));
            prop_assert_eq!(swar(&t), Some(id));
        }

        /// Hyphenated texts of random digits in either case, with up to three bytes changed to
        /// anything: near misses, which random bytes alone would almost never come close to.
        #[test]
        fn agrees_with_uuid_near_valid_text(
            digits in proptest::collection::vec(
                proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()),
                32,
            ),
            changes in proptest::collection::vec((0..LEN, any::<u8>()), 0..=3),
        ) {
            let mut text = [b'-'; LEN];
            let positions = (0..LEN).filter(|at| ![8, 13, 18, 23].contains(at));
            for (at, digit) in positions.zip(digits) {
                text[at] = digit;
            }
            for (at, byte) in changes {
                text[at] = byte;
            }
            let expected = Uuid::try_parse_ascii(&text).ok();
            prop_assert_eq!(parse(&text), expected);
            prop_assert_eq!(swar(&text), expected);
        }
    }
}
