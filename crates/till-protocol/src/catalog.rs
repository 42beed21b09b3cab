//! What the back office owns and terminals pull: store settings, tax rates, products, customers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A currency: its ISO 4217 code and how many decimal places its minor unit has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Currency {
    /// Three upper-case letters, e.g. `EUR`.
    pub code: String,
    /// Decimal places of the minor unit: 2 for EUR, 0 for JPY, 3 for KWD.
    pub exponent: u8,
}

/// Store-wide settings that decide how prices are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    pub store_name: String,
    pub currency: Currency,
    /// Whether product prices include tax (typical in Europe) or tax is added (typical in the US).
    pub prices_include_tax: bool,
    /// A BCP 47 locale for formatting, e.g. `en-GB`.
    pub locale: String,
    /// The shop's postal address as its receipts print it; its lines are separated by `\n`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The shop's tax (VAT) registration number, printed on its receipts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<String>,
}

/// A tax rate. Products name it through their `tax_category`, which is this rate's `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TaxRate {
    /// A short stable code such as `standard` or `reduced`.
    pub id: String,
    pub name: String,
    /// Basis points: `2000` is 20 %.
    pub rate_bp: u32,
}

/// A product on sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub barcode: Option<String>,
    pub name: String,
    pub category: String,
    /// Minor units, in the store's price basis (tax included or not).
    pub unit_price: i64,
    /// The `id` of a [`TaxRate`].
    pub tax_category: String,
    pub active: bool,
}

/// A whole catalog: the demo catalog file, `till-server catalog import`, and a terminal's
/// first-run catalog have this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogSnapshot {
    pub settings: StoreSettings,
    pub tax_rates: Vec<TaxRate>,
    pub products: Vec<Product>,
}

/// The editable fields of a customer. Conflicts are detected and merged field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CustomerFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
}

impl CustomerFields {
    /// The field names, in the order the UI shows them.
    pub const NAMES: [&'static str; 4] = ["name", "email", "phone", "note"];
    /// Longest value of any field, in characters.
    pub const MAX_CHARS: usize = 500;

    /// The one rule both sides apply, so an edit the terminal accepts is never refused by the
    /// back office for its shape: a name is required, no field exceeds [`Self::MAX_CHARS`], and
    /// no field holds a control character ([`crate::text`]; the note may hold line breaks).
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a customer needs a name".into());
        }
        let one = crate::text::Lines::One;
        [
            ("the customer's name", Some(&self.name), one),
            ("the customer's email", self.email.as_ref(), one),
            ("the customer's phone", self.phone.as_ref(), one),
            (
                "the customer's note",
                self.note.as_ref(),
                crate::text::Lines::Many,
            ),
        ]
        .into_iter()
        .filter_map(|(what, value, lines)| value.map(|v| (what, v, lines)))
        .try_for_each(|(what, value, lines)| crate::text::check(what, value, lines))
        .map_err(|e| e.to_string())?;
        let too_long = [
            Some(&self.name),
            self.email.as_ref(),
            self.phone.as_ref(),
            self.note.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|v| v.chars().count() > Self::MAX_CHARS);
        if too_long {
            return Err(format!(
                "customer fields are at most {} characters",
                Self::MAX_CHARS
            ));
        }
        Ok(())
    }

    /// The first field (by its name in [`Self::NAMES`]) holding what looks like a full card
    /// number ([`crate::card`]): the till refuses to save it and the back office to store it.
    pub fn field_with_card_number(&self) -> Option<&'static str> {
        crate::card::first_field_with_card_number([
            ("name", Some(self.name.as_str())),
            ("email", self.email.as_deref()),
            ("phone", self.phone.as_deref()),
            ("note", self.note.as_deref()),
        ])
    }

    /// The fields whose values differ between `self` and `other`.
    pub fn differing(&self, other: &CustomerFields) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.name != other.name {
            out.push("name");
        }
        if self.email != other.email {
            out.push("email");
        }
        if self.phone != other.phone {
            out.push("phone");
        }
        if self.note != other.note {
            out.push("note");
        }
        out
    }
}

/// A customer as the back office holds it. `version` is assigned by the server and grows by one
/// with every accepted change; `hlc` stamps the change that made this version (the terminal's
/// mutation stamp, or the back office's clock for an edit made there), so last-writer-wins can
/// compare it with a terminal's own edit. Absent for customers written before stamps were kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Customer {
    pub id: Uuid,
    pub version: u64,
    pub fields: CustomerFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hlc: Option<crate::Hlc>,
    /// What made this version: the id of the terminal mutation that did, or an id the back
    /// office drew for an edit made there. A terminal's edit names it as its `base`, and is
    /// applied only while this version is current. Absent for versions made before it was kept,
    /// and to a terminal of protocol revision 1 (see [`crate::PROTOCOL_REVISION`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made_by: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, note: Option<String>) -> CustomerFields {
        CustomerFields {
            name: name.into(),
            email: None,
            phone: None,
            note,
        }
    }

    #[test]
    fn customer_fields_are_bounded_in_characters_not_bytes() {
        let japanese = "顧".repeat(CustomerFields::MAX_CHARS);
        assert!(
            named("Aiko", Some(japanese)).check().is_ok(),
            "500 three-byte characters are 500 characters on both sides"
        );
        let long = "x".repeat(CustomerFields::MAX_CHARS + 1);
        assert!(named("Aiko", Some(long)).check().is_err());
        assert!(
            named("  ", None).check().is_err(),
            "a customer needs a name"
        );
    }

    #[test]
    fn the_field_holding_a_card_number_is_named() {
        assert_eq!(named("Ada", None).field_with_card_number(), None);
        let mut fields = named("Ada", Some("paid 4111  1111  1111  1111".into()));
        assert_eq!(fields.field_with_card_number(), Some("note"));
        fields.phone = Some("4111.1111.1111.1111".into());
        assert_eq!(
            fields.field_with_card_number(),
            Some("phone"),
            "fields are looked at in the order the UI shows them"
        );
        fields.phone = Some("+44 20 7946 0958".into());
        fields.note = None;
        assert_eq!(
            fields.field_with_card_number(),
            None,
            "a phone number is fine"
        );
    }

    #[test]
    fn customer_fields_hold_no_control_characters_but_a_note_may_break_lines() {
        assert!(named("Ada\u{0}", None).check().is_err(), "a NUL in a name");
        let mut fields = named("Ada", Some("first line\nsecond line".into()));
        assert_eq!(fields.check(), Ok(()), "a note may hold line breaks");
        fields.phone = Some("555\n0100".into());
        let refused = fields.check().expect_err("a phone number is one line");
        assert!(refused.contains("the customer's phone"), "{refused}");
        fields.phone = None;
        fields.note = Some("bell \u{7}".into());
        assert!(fields.check().is_err(), "a note holds no bell");
    }
}
