//! A receipt laid out as the lines of its paper: every block becomes one or more [`Line`]s of at
//! most the paper's columns (half as many for double-size text), aligned and styled. The plain
//! text view and the ESC/POS bytes are both written from this one layout.

use crate::money::Money;

use super::{Block, Paper, Receipt};

/// How a line sits on the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// One laid-out line of a receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Text already padded to its place within the columns; `large` is double width and height.
    Text {
        text: String,
        align: Align,
        bold: bool,
        large: bool,
    },
    /// A QR code holding `data`, centred.
    Qr { data: String },
}

/// The lines of `receipt` on `paper`.
pub fn layout(receipt: &Receipt, paper: Paper) -> Vec<Line> {
    let width = paper.columns();
    let money = |minor: i64| Money::new(minor, &receipt.currency).to_string();
    let mut out = Vec::new();
    for block in &receipt.blocks {
        match block {
            Block::Title { text } | Block::Banner { text } => {
                out.extend(wrap(text, width / 2).map(|t| styled(t, Align::Center, true, true)));
            }
            Block::Centered { text } => {
                out.extend(wrap(text, width).map(|t| styled(t, Align::Center, false, false)));
            }
            Block::Field { label, value } => {
                if label.chars().count() + 1 + value.chars().count() <= width {
                    out.push(plain(pair(label, value, width)));
                } else {
                    out.push(plain(label.clone()));
                    out.extend(wrap(value, width).map(|v| plain(format!("{v:>width$}"))));
                }
            }
            Block::Item {
                name,
                quantity,
                unit_price,
                discount,
                amount,
            } => {
                out.extend(wrap(name, width).map(plain));
                let each = format!("  {quantity} x {}", money(*unit_price));
                out.push(plain(pair(&each, &money(*amount), width)));
                if let Some(d) = discount {
                    out.push(plain(pair("  Discount", &money(-d), width)));
                }
            }
            Block::Amount {
                label,
                minor,
                strong,
            } => out.push(styled(
                pair(label, &money(*minor), width),
                Align::Left,
                *strong,
                false,
            )),
            Block::Rule => out.push(plain("-".repeat(width))),
            Block::Qr { data, .. } => out.push(Line::Qr { data: data.clone() }),
        }
    }
    out
}

/// `receipt` as plain text on `paper`: centred lines padded with spaces, a QR code shown as
/// `[QR] data`, one `\n` after each line.
pub fn render(receipt: &Receipt, paper: Paper) -> String {
    let width = paper.columns();
    let mut out = String::new();
    for line in layout(receipt, paper) {
        let text = match line {
            Line::Text {
                text,
                align: Align::Center,
                ..
            } => centred(&text, width),
            Line::Text { text, .. } => text,
            Line::Qr { data } => centred(&format!("[QR] {data}"), width),
        };
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

fn plain(text: String) -> Line {
    styled(text, Align::Left, false, false)
}

fn styled(text: String, align: Align, bold: bool, large: bool) -> Line {
    Line::Text {
        text,
        align,
        bold,
        large,
    }
}

/// `text` padded on the left to sit in the middle of `width` columns.
fn centred(text: &str, width: usize) -> String {
    let pad = width.saturating_sub(text.chars().count()) / 2;
    format!("{}{text}", " ".repeat(pad))
}

/// `label` on the left and `value` on the right of `width` columns, at least one space between;
/// the label is cut short when both do not fit, the value (an amount) never is.
fn pair(label: &str, value: &str, width: usize) -> String {
    let value_len = value.chars().count();
    let room = width.saturating_sub(value_len + 1);
    let label: String = label.chars().take(room).collect();
    let gap = width
        .saturating_sub(label.chars().count() + value_len)
        .max(1);
    format!("{label}{}{value}", " ".repeat(gap))
}

/// `text` in lines of at most `width` characters, broken between words where it can be.
fn wrap(text: &str, width: usize) -> impl Iterator<Item = String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while !word.is_empty() {
            let used = line.chars().count();
            let sep = usize::from(used > 0);
            if used + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.drain(..));
            } else if used > 0 {
                lines.push(std::mem::take(&mut line));
            } else {
                lines.push(word.drain(..width).collect());
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_puts_the_value_flush_right_and_cuts_the_label_not_the_value() {
        assert_eq!(pair("Total", "€5.00", 12), "Total  €5.00");
        assert_eq!(pair("A long label", "€5.00", 12), "A long €5.00");
    }

    #[test]
    fn a_field_too_long_for_one_line_puts_its_value_on_the_next() {
        let receipt = Receipt {
            currency: till_protocol::Currency {
                code: "EUR".into(),
                exponent: 2,
            },
            blocks: vec![Block::Field {
                label: "Till".into(),
                value: "01a22b7f-0029-77b3-9f3d-7132297ca6eb".into(),
            }],
        };
        assert_eq!(
            render(&receipt, Paper::Mm58),
            "Till\n01a22b7f-0029-77b3-9f3d-7132297c\n                            a6eb\n",
            "the label is never lost"
        );
    }

    #[test]
    fn long_text_wraps_between_words_and_a_long_word_is_cut() {
        let lines: Vec<String> = wrap("Sourdough loaf large", 10).collect();
        assert_eq!(lines, vec!["Sourdough", "loaf large"]);
        let lines: Vec<String> = wrap("abcdefghijkl", 5).collect();
        assert_eq!(lines, vec!["abcde", "fghij", "kl"]);
    }
}
