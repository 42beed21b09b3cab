//! ESC/POS bytes for a receipt, from our own small encoder rather than the `escpos` crate. A
//! receipt needs eight commands (ESC @, ESC t, ESC a, ESC E, GS !, GS ( k for a QR code, GS V
//! and ESC p) written into a byte buffer, because jobs are rendered into the print queue inside
//! a sale's transaction and sent later by [`crate::printer`]. `escpos` 0.20 writes through its
//! own `Driver` trait (with optional USB, serial and HID back-ends), needs Rust 1.88 where the
//! workspace holds to 1.80, and brings `encoding_rs`, `hashbrown`, `spin` and `log`; owning the
//! bytes also lets golden tests pin them exactly.
//!
//! Text goes out in code page 858 (`ESC t 19` on Epson-compatible printers: Latin-1 letters and
//! the euro sign). A character outside it is replaced by a close ASCII one where there is one
//! (typographic quotes and dashes, the ellipsis) and by `?` otherwise.

use super::text::{layout, Align, Line};
use super::{Paper, Receipt};

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const LF: u8 = 0x0a;

/// Code page 858's characters 0x80–0xFF, in order (a decoder reads bytes back with it).
pub const CP858_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜø£Ø×ƒáíóúñÑªº¿®¬½¼¡«»░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐\
└┴┬├─┼ãÃ╚╔╩╦╠═╬¤ðÐÊËÈ€ÍÎÏ┘┌█▄¦Ì▀ÓßÔÒõÕµþÞÚÛÙýÝ¯´\u{ad}±‗¾¶§÷¸°¨·¹³²■\u{a0}";

/// The code page 858 byte of `c`, or a stand-in for a character it lacks.
fn cp858(c: char, out: &mut Vec<u8>) {
    if c.is_ascii() && !c.is_ascii_control() {
        out.push(c as u8);
        return;
    }
    if let Some(i) = CP858_HIGH.chars().position(|h| h == c) {
        out.push(0x80 + i as u8);
        return;
    }
    let stand_in: &[u8] = match c {
        '‘' | '’' | '‚' | '′' => b"'",
        '“' | '”' | '„' | '″' => b"\"",
        '–' | '—' | '‐' | '−' => b"-",
        '…' => b"...",
        _ => b"?",
    };
    out.extend_from_slice(stand_in);
}

/// Writes ESC/POS commands into a byte buffer.
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    /// A buffer that starts by resetting the printer (`ESC @`) and choosing code page 858.
    pub fn new() -> Self {
        Encoder {
            bytes: vec![ESC, b'@', ESC, b't', 19],
        }
    }

    /// `ESC a n`: left or centred.
    pub fn align(&mut self, align: Align) -> &mut Self {
        let n = match align {
            Align::Left => 0,
            Align::Center => 1,
        };
        self.bytes.extend_from_slice(&[ESC, b'a', n]);
        self
    }

    /// `ESC E n`: bold on or off.
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.bytes.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self
    }

    /// `GS ! n`: double width and height, or normal size.
    pub fn large(&mut self, on: bool) -> &mut Self {
        self.bytes
            .extend_from_slice(&[GS, b'!', if on { 0x11 } else { 0x00 }]);
        self
    }

    /// `text` in code page 858 and a line feed.
    pub fn line(&mut self, text: &str) -> &mut Self {
        for c in text.chars() {
            cp858(c, &mut self.bytes);
        }
        self.bytes.push(LF);
        self
    }

    /// A QR code (model 2, module size 6, error correction M) holding `data`, then a line feed.
    /// `data` longer than the command can carry is cut short.
    pub fn qr(&mut self, data: &str) -> &mut Self {
        let data = &data.as_bytes()[..data.len().min(7000)];
        self.qr_function(b'A', &[b'2', 0]);
        self.qr_function(b'C', &[6]);
        self.qr_function(b'E', b"1");
        let mut store = vec![b'0'];
        store.extend_from_slice(data);
        self.qr_function(b'P', &store);
        self.qr_function(b'Q', b"0");
        self.bytes.push(LF);
        self
    }

    /// `GS ( k pL pH 49 fn params`: one function of the QR symbol.
    fn qr_function(&mut self, function: u8, params: &[u8]) {
        let len = u16::try_from(params.len() + 2).unwrap_or(u16::MAX);
        let [pl, ph] = len.to_le_bytes();
        self.bytes
            .extend_from_slice(&[GS, b'(', b'k', pl, ph, b'1', function]);
        self.bytes.extend_from_slice(params);
    }

    /// `GS V 66 3`: feeds the paper past the cutter and cuts.
    pub fn cut(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&[GS, b'V', 66, 3]);
        self
    }

    /// `ESC p 0 25 250`: a pulse of 50 ms on the drawer's pin 2, then 500 ms off.
    pub fn kick(&mut self) -> &mut Self {
        self.bytes.extend_from_slice(&[ESC, b'p', 0, 25, 250]);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// `receipt` on `paper` as ESC/POS bytes, ending with a cut. Style commands are written only
/// where the style changes.
pub fn render(receipt: &Receipt, paper: Paper) -> Vec<u8> {
    let mut e = Encoder::new();
    let (mut align, mut bold, mut large) = (Align::Left, false, false);
    for line in layout(receipt, paper) {
        let (want_align, want_bold, want_large) = match &line {
            Line::Text {
                align, bold, large, ..
            } => (*align, *bold, *large),
            Line::Qr { .. } => (Align::Center, false, false),
        };
        if want_align != align {
            e.align(want_align);
            align = want_align;
        }
        if want_bold != bold {
            e.bold(want_bold);
            bold = want_bold;
        }
        if want_large != large {
            e.large(want_large);
            large = want_large;
        }
        match &line {
            Line::Text { text, .. } => e.line(text.trim_end()),
            Line::Qr { data } => e.qr(data),
        };
    }
    e.cut();
    e.finish()
}

/// The bytes that only open the cash drawer.
pub fn drawer_kick() -> Vec<u8> {
    let mut e = Encoder::new();
    e.kick();
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_page_858_has_128_high_characters_with_the_euro_at_d5() {
        assert_eq!(CP858_HIGH.chars().count(), 128);
        let mut out = Vec::new();
        for c in "é€£ü".chars() {
            cp858(c, &mut out);
        }
        assert_eq!(out, vec![0x82, 0xd5, 0x9c, 0x81]);
    }

    #[test]
    fn characters_outside_the_code_page_get_a_stand_in() {
        let mut out = Vec::new();
        for c in "“a”–…漢\u{7}".chars() {
            cp858(c, &mut out);
        }
        assert_eq!(out, b"\"a\"-...??".to_vec());
    }

    #[test]
    fn a_qr_code_is_model_2_stored_then_printed() {
        let mut e = Encoder::new();
        e.qr("AB");
        let bytes = e.finish();
        assert_eq!(
            &bytes[5..],
            &[
                GS, b'(', b'k', 4, 0, b'1', b'A', b'2', 0, // model 2
                GS, b'(', b'k', 3, 0, b'1', b'C', 6, // module size
                GS, b'(', b'k', 3, 0, b'1', b'E', b'1', // error correction M
                GS, b'(', b'k', 5, 0, b'1', b'P', b'0', b'A', b'B', // store
                GS, b'(', b'k', 3, 0, b'1', b'Q', b'0', // print
                LF,
            ][..]
        );
    }
}
