//! Display width of a character on a terminal cell grid, for the line editor's erase echo:
//! two cells for East Asian wide and fullwidth characters (and the emoji blocks terminals
//! draw wide), none for combining marks and zero-width characters, two for a control
//! character (the editor shows it as `^X`), one otherwise. A small table of the main ranges
//! (Unicode's EastAsianWidth W/F and general category Mn/Me), not the full database.

/// Wide (two-cell) ranges, sorted.
const WIDE: &[(u32, u32)] = &[
    (0x1100, 0x115F),   // Hangul Jamo initial consonants
    (0x231A, 0x231B),   // watch, hourglass
    (0x2329, 0x232A),   // angle brackets
    (0x23E9, 0x23EC),   // media controls
    (0x23F0, 0x23F0),   // alarm clock
    (0x23F3, 0x23F3),   // hourglass with flowing sand
    (0x25FD, 0x25FE),   // medium small squares
    (0x2614, 0x2615),   // umbrella, hot beverage
    (0x2648, 0x2653),   // zodiac
    (0x267F, 0x267F),   // wheelchair
    (0x2693, 0x2693),   // anchor
    (0x26A1, 0x26A1),   // high voltage
    (0x26AA, 0x26AB),   // circles
    (0x26BD, 0x26BE),   // soccer, baseball
    (0x26C4, 0x26C5),   // snowman, sun behind cloud
    (0x26CE, 0x26CE),   // ophiuchus
    (0x26D4, 0x26D4),   // no entry
    (0x26EA, 0x26EA),   // church
    (0x26F2, 0x26F3),   // fountain, golf
    (0x26F5, 0x26F5),   // sailboat
    (0x26FA, 0x26FA),   // tent
    (0x26FD, 0x26FD),   // fuel pump
    (0x2705, 0x2705),   // check mark button
    (0x270A, 0x270B),   // fists
    (0x2728, 0x2728),   // sparkles
    (0x274C, 0x274C),   // cross mark
    (0x274E, 0x274E),   // cross mark button
    (0x2753, 0x2755),   // question marks
    (0x2757, 0x2757),   // exclamation mark
    (0x2795, 0x2797),   // plus, minus, divide
    (0x27B0, 0x27B0),   // curly loop
    (0x27BF, 0x27BF),   // double curly loop
    (0x2B1B, 0x2B1C),   // large squares
    (0x2B50, 0x2B50),   // star
    (0x2B55, 0x2B55),   // circle
    (0x2E80, 0x303E),   // CJK radicals, Kangxi, CJK symbols and punctuation
    (0x3041, 0x33FF),   // Hiragana, Katakana, Bopomofo, Hangul compatibility, CJK compat
    (0x3400, 0x4DBF),   // CJK extension A
    (0x4E00, 0x9FFF),   // CJK unified ideographs
    (0xA000, 0xA4CF),   // Yi
    (0xA960, 0xA97F),   // Hangul Jamo extended A
    (0xAC00, 0xD7A3),   // Hangul syllables
    (0xF900, 0xFAFF),   // CJK compatibility ideographs
    (0xFE10, 0xFE19),   // vertical forms
    (0xFE30, 0xFE6F),   // CJK compatibility forms, small form variants
    (0xFF00, 0xFF60),   // fullwidth forms
    (0xFFE0, 0xFFE6),   // fullwidth signs
    (0x16FE0, 0x16FE4), // ideographic symbols
    (0x17000, 0x18CFF), // Tangut
    (0x1B000, 0x1B2FF), // Kana supplement and extensions, Nushu
    (0x1F004, 0x1F004), // mahjong tile red dragon
    (0x1F0CF, 0x1F0CF), // joker
    (0x1F18E, 0x1F18E), // AB button
    (0x1F191, 0x1F19A), // squared words
    (0x1F200, 0x1F2FF), // enclosed ideographic supplement
    (0x1F300, 0x1F64F), // pictographs, emoticons
    (0x1F680, 0x1F6FF), // transport and map symbols
    (0x1F7E0, 0x1F7EB), // coloured circles and squares
    (0x1F90C, 0x1F9FF), // supplemental symbols and pictographs
    (0x1FA70, 0x1FAFF), // symbols and pictographs extended A
    (0x20000, 0x2FFFD), // CJK extensions B-F, compatibility supplement
    (0x30000, 0x3FFFD), // CJK extensions G-H
];

/// Zero-width ranges (combining marks, zero-width characters, variation selectors), sorted.
const ZERO: &[(u32, u32)] = &[
    (0x0300, 0x036F),   // combining diacritical marks
    (0x0483, 0x0489),   // Cyrillic combining marks
    (0x0591, 0x05BD),   // Hebrew points
    (0x05BF, 0x05C7),   // Hebrew points
    (0x0610, 0x061A),   // Arabic marks
    (0x061C, 0x061C),   // Arabic letter mark
    (0x064B, 0x065F),   // Arabic harakat
    (0x0670, 0x0670),   // Arabic superscript alef
    (0x06D6, 0x06ED),   // Arabic small marks
    (0x0900, 0x0903),   // Devanagari signs
    (0x093A, 0x094F),   // Devanagari vowel signs, virama
    (0x0951, 0x0957),   // Devanagari stress signs
    (0x0E31, 0x0E31),   // Thai mai han-akat
    (0x0E34, 0x0E3A),   // Thai vowels
    (0x0E47, 0x0E4E),   // Thai tone marks
    (0x1160, 0x11FF),   // Hangul Jamo medial vowels and final consonants
    (0x1AB0, 0x1AFF),   // combining diacritical marks extended
    (0x1DC0, 0x1DFF),   // combining diacritical marks supplement
    (0x200B, 0x200F),   // zero-width space, joiners, direction marks
    (0x202A, 0x202E),   // bidi embeddings and overrides
    (0x2060, 0x2064),   // word joiner, invisible operators
    (0x2066, 0x2069),   // bidi isolates
    (0x20D0, 0x20FF),   // combining marks for symbols
    (0x302A, 0x302F),   // ideographic tone marks
    (0x3099, 0x309A),   // kana voiced sound marks
    (0xFE00, 0xFE0F),   // variation selectors
    (0xFE20, 0xFE2F),   // combining half marks
    (0xFEFF, 0xFEFF),   // zero-width no-break space
    (0x1F3FB, 0x1F3FF), // emoji skin tone modifiers
    (0xE0000, 0xE0FFF), // tags, variation selectors supplement
];

fn in_table(table: &[(u32, u32)], c: u32) -> bool {
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Cells `c` takes when the line editor echoes it (see the module docs).
pub fn width(c: char) -> usize {
    let u = c as u32;
    match u {
        0..=0x1f | 0x7f => 2,
        0x80..=0x9f => 0,
        _ if u < 0x300 => 1,
        _ if in_table(ZERO, u) => 0,
        _ if in_table(WIDE, u) => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_narrow_zero_and_control_widths() {
        for (c, w) in [
            ('a', 1),
            ('é', 1),
            ('日', 2),
            ('語', 2),
            ('한', 2),
            ('Ａ', 2),
            ('😀', 2),
            ('\u{301}', 0),
            ('\u{200b}', 0),
            ('\u{fe0f}', 0),
            ('\x1b', 2),
            ('Ω', 1),
        ] {
            assert_eq!(width(c), w, "{c:?}");
        }
    }

    #[test]
    fn the_tables_are_sorted_and_disjoint() {
        for t in [WIDE, ZERO] {
            assert!(t.windows(2).all(|p| p[0].1 < p[1].0));
            assert!(t.iter().all(|&(lo, hi)| lo <= hi));
        }
    }
}
