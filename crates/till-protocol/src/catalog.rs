//! What the back office owns and terminals pull: store settings, tax rates, products, customers.

use std::collections::BTreeSet;

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

/// The editable fields of a customer. Conflicts are detected and merged field by field, each by
/// its rule ([`crate::fields`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct CustomerFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub note: Option<String>,
    /// Short labels (`vip`, `wholesale`), each as [`Self::tag`] makes it: a set, so adds and
    /// removes made on two sides at once all hold. Absent when empty, and to a till of protocol
    /// revision 6 or older.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tags: BTreeSet<String>,
    /// Loyalty points, from 0 to [`Self::MAX_POINTS`]: a counter, so changes made on two sides
    /// at once add up. Absent when 0, and to a till of protocol revision 6 or older.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub loyalty_points: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl CustomerFields {
    /// The field names, in the order the UI shows them.
    pub const NAMES: [&'static str; 6] =
        ["name", "email", "phone", "note", "tags", "loyalty_points"];
    /// Longest value of any text field, in characters.
    pub const MAX_CHARS: usize = 500;
    /// Most tags a customer has.
    pub const MAX_TAGS: usize = 20;
    /// Longest tag, in characters.
    pub const MAX_TAG_CHARS: usize = 32;
    /// Most loyalty points a customer holds; far beyond any shop's, and far from overflowing
    /// when two sides' changes add up.
    pub const MAX_POINTS: i64 = 1_000_000_000;

    /// A tag as it is kept: trimmed and lower-cased, so `VIP` typed on one till and `vip` on
    /// another are the same tag. Refused when empty, longer than [`Self::MAX_TAG_CHARS`], or
    /// holding a control character.
    pub fn tag(raw: &str) -> Result<String, String> {
        let tag = raw.trim().to_lowercase();
        if tag.is_empty() {
            return Err("a tag is not empty".into());
        }
        if tag.chars().count() > Self::MAX_TAG_CHARS {
            return Err(format!(
                "a tag is at most {} characters",
                Self::MAX_TAG_CHARS
            ));
        }
        crate::text::check("a tag", &tag, crate::text::Lines::One).map_err(|e| e.to_string())?;
        Ok(tag)
    }

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
        self.check_tags()?;
        if !(0..=Self::MAX_POINTS).contains(&self.loyalty_points) {
            return Err(format!(
                "loyalty points are from 0 to {}, not {}",
                Self::MAX_POINTS,
                self.loyalty_points
            ));
        }
        Ok(())
    }

    /// At most [`Self::MAX_TAGS`] tags, each already as [`Self::tag`] keeps it.
    fn check_tags(&self) -> Result<(), String> {
        if self.tags.len() > Self::MAX_TAGS {
            return Err(format!("a customer has at most {} tags", Self::MAX_TAGS));
        }
        for tag in &self.tags {
            if Self::tag(tag)? != *tag {
                return Err(format!("the tag {tag:?} is not trimmed and lower-case"));
            }
        }
        Ok(())
    }

    /// The first field (by its name in [`Self::NAMES`]) holding what looks like a full card
    /// number ([`crate::card`]): the till refuses to save it and the back office to store it.
    pub fn field_with_card_number(&self) -> Option<&'static str> {
        crate::card::first_field_with_card_number(
            [
                ("name", Some(self.name.as_str())),
                ("email", self.email.as_deref()),
                ("phone", self.phone.as_deref()),
                ("note", self.note.as_deref()),
            ]
            .into_iter()
            .chain(self.tags.iter().map(|t| ("tags", Some(t.as_str())))),
        )
    }

    /// The fields whose values differ between `self` and `other`.
    pub fn differing(&self, other: &CustomerFields) -> Vec<&'static str> {
        crate::fields::CustomerField::differing(self, other)
            .into_iter()
            .map(crate::fields::CustomerField::as_str)
            .collect()
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
            note,
            ..CustomerFields::default()
        }
    }

    #[test]
    fn tags_are_kept_trimmed_and_lower_case_and_bounded() {
        assert_eq!(CustomerFields::tag("  VIP "), Ok("vip".to_string()));
        assert!(CustomerFields::tag("   ").is_err(), "a tag is not empty");
        assert!(CustomerFields::tag(&"x".repeat(33)).is_err(), "too long");
        assert!(CustomerFields::tag("a\tb").is_err(), "one line, no tab");
        let mut fields = named("Ada", None);
        fields.tags = ["VIP".to_string()].into();
        assert!(
            fields.check().is_err(),
            "both sides refuse a tag not kept as the rule makes it"
        );
        fields.tags = (0..=CustomerFields::MAX_TAGS)
            .map(|i| format!("t{i}"))
            .collect();
        assert!(fields.check().is_err(), "at most 20 tags");
        fields.tags = ["vip".to_string()].into();
        assert_eq!(fields.check(), Ok(()));
    }

    #[test]
    fn loyalty_points_are_never_below_zero() {
        let mut fields = named("Ada", None);
        fields.loyalty_points = -1;
        assert!(
            fields.check().is_err(),
            "a merge that goes below 0 is for a person"
        );
        fields.loyalty_points = CustomerFields::MAX_POINTS + 1;
        assert!(fields.check().is_err());
        fields.loyalty_points = CustomerFields::MAX_POINTS;
        assert_eq!(fields.check(), Ok(()));
    }

    #[test]
    fn a_card_number_in_a_tag_is_found() {
        let mut fields = named("Ada", None);
        fields.tags = ["4111111111111111".to_string()].into();
        assert_eq!(fields.field_with_card_number(), Some("tags"));
    }

    #[test]
    fn empty_tags_and_zero_points_travel_as_before() {
        let json = serde_json::to_value(named("Ada", None)).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"name": "Ada", "email": null, "phone": null, "note": null}),
            "a customer without tags or points reads the same to an older till"
        );
        let read: CustomerFields = serde_json::from_value(json).expect("reads");
        assert_eq!(read, named("Ada", None));
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
