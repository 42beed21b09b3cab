//! How each customer field merges when a till and the back office both changed it: one table of
//! field rules ([`FIELD_RULES`]) that the till's conflict merge and the back office both read.
//! Adding a field is a row: its rule, and the payload format that first carries it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::CustomerFields;

/// How concurrent changes of one field combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A value as a whole: a change on one side is taken; both sides changing it is a conflict
    /// for a person.
    Text,
    /// A set: adds and removes on both sides all apply, `theirs + (mine − base) − (base − mine)`.
    Set,
    /// A counter: each side's change is a delta and both apply, `theirs + (mine − base)`.
    Counter,
}

/// One editable field of a customer, in the order the UI shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CustomerField {
    Name,
    Email,
    Phone,
    Note,
    Tags,
    LoyaltyPoints,
}

/// A row of the table: a field, its rule, and the first payload format whose customer changes
/// carry it ([`crate::PAYLOAD_FORMAT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRule {
    pub field: CustomerField,
    pub name: &'static str,
    pub rule: Rule,
    pub since_format: u32,
}

/// The rule of every customer field, in display order (the order of [`CustomerField`]).
pub const FIELD_RULES: [FieldRule; 6] = [
    row(CustomerField::Name, "name", Rule::Text, 1),
    row(CustomerField::Email, "email", Rule::Text, 1),
    row(CustomerField::Phone, "phone", Rule::Text, 1),
    row(CustomerField::Note, "note", Rule::Text, 1),
    row(CustomerField::Tags, "tags", Rule::Set, 3),
    row(
        CustomerField::LoyaltyPoints,
        "loyalty_points",
        Rule::Counter,
        3,
    ),
];

const fn row(field: CustomerField, name: &'static str, rule: Rule, since_format: u32) -> FieldRule {
    FieldRule {
        field,
        name,
        rule,
        since_format,
    }
}

// Row `i` is the field numbered `i`, so a field finds its row without a search.
const _: () = {
    let mut i = 0;
    while i < FIELD_RULES.len() {
        assert!(
            FIELD_RULES[i].field as usize == i,
            "one row per field, in order"
        );
        i += 1;
    }
};

/// A field's value, typed by its rule, for comparing and showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Text(Option<&'a str>),
    Set(&'a BTreeSet<String>),
    Counter(i64),
}

impl FieldValue<'_> {
    /// The value as a person reads it; `None` for an empty text or set.
    pub fn shown(self) -> Option<String> {
        match self {
            FieldValue::Text(text) => text.map(str::to_owned),
            FieldValue::Set(set) if set.is_empty() => None,
            FieldValue::Set(set) => Some(set.iter().cloned().collect::<Vec<_>>().join(", ")),
            FieldValue::Counter(n) => Some(n.to_string()),
        }
    }
}

impl CustomerField {
    /// Every field, in display order.
    pub const ALL: [CustomerField; 6] = [
        CustomerField::Name,
        CustomerField::Email,
        CustomerField::Phone,
        CustomerField::Note,
        CustomerField::Tags,
        CustomerField::LoyaltyPoints,
    ];

    fn row(self) -> &'static FieldRule {
        &FIELD_RULES[self as usize]
    }

    /// The field's name, as [`CustomerFields`] serializes it.
    pub fn as_str(self) -> &'static str {
        self.row().name
    }

    /// How concurrent changes of this field combine.
    pub fn rule(self) -> Rule {
        self.row().rule
    }

    /// Whether a customer change queued in payload `format` carries this field: an older till's
    /// change does not, and leaves the field as it is.
    pub fn carried_in(self, format: u32) -> bool {
        format >= self.row().since_format
    }

    /// The field with this name, if there is one.
    pub fn parse(name: &str) -> Option<CustomerField> {
        CustomerField::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// This field's value in `fields`.
    pub fn value(self, fields: &CustomerFields) -> FieldValue<'_> {
        match self {
            CustomerField::Name => FieldValue::Text(Some(&fields.name)),
            CustomerField::Email => FieldValue::Text(fields.email.as_deref()),
            CustomerField::Phone => FieldValue::Text(fields.phone.as_deref()),
            CustomerField::Note => FieldValue::Text(fields.note.as_deref()),
            CustomerField::Tags => FieldValue::Set(&fields.tags),
            CustomerField::LoyaltyPoints => FieldValue::Counter(fields.loyalty_points),
        }
    }

    /// Copies this field's value from `from` into `into`.
    pub fn copy(self, from: &CustomerFields, into: &mut CustomerFields) {
        match self {
            CustomerField::Name => into.name.clone_from(&from.name),
            CustomerField::Email => into.email.clone_from(&from.email),
            CustomerField::Phone => into.phone.clone_from(&from.phone),
            CustomerField::Note => into.note.clone_from(&from.note),
            CustomerField::Tags => into.tags.clone_from(&from.tags),
            CustomerField::LoyaltyPoints => into.loyalty_points = from.loyalty_points,
        }
    }

    /// Takes `mine`'s change of this field into `theirs`, by the field's rule: a text field
    /// becomes mine; a set gains what mine added and loses what mine removed since `base`; a
    /// counter moves by mine's change since `base`. Without a base, mine's value is taken whole.
    pub fn take_mine(
        self,
        base: Option<&CustomerFields>,
        mine: &CustomerFields,
        theirs: &mut CustomerFields,
    ) {
        match (self.rule(), base) {
            (Rule::Text, _) | (_, None) => self.copy(mine, theirs),
            (Rule::Set, Some(base)) => {
                theirs.tags = merge_set(&base.tags, &mine.tags, &theirs.tags);
            }
            (Rule::Counter, Some(base)) => {
                theirs.loyalty_points = merge_counter(
                    base.loyalty_points,
                    mine.loyalty_points,
                    theirs.loyalty_points,
                );
            }
        }
    }

    /// The fields whose values differ between `a` and `b`, in display order.
    pub fn differing(a: &CustomerFields, b: &CustomerFields) -> Vec<CustomerField> {
        CustomerField::ALL
            .into_iter()
            .filter(|f| f.value(a) != f.value(b))
            .collect()
    }

    /// Each field named in `fields` once, in display order.
    pub fn union(fields: impl IntoIterator<Item = CustomerField>) -> Vec<CustomerField> {
        let mut named: Vec<CustomerField> = fields.into_iter().collect();
        named.sort();
        named.dedup();
        named
    }
}

/// A set both sides changed since `base`: `theirs`, plus what `mine` added, minus what `mine`
/// removed. An add on one side and a remove of another element on the other both hold.
pub fn merge_set<T: Ord + Clone>(
    base: &BTreeSet<T>,
    mine: &BTreeSet<T>,
    theirs: &BTreeSet<T>,
) -> BTreeSet<T> {
    let added = mine.difference(base);
    let removed: BTreeSet<&T> = base.difference(mine).collect();
    theirs
        .iter()
        .chain(added)
        .filter(|t| !removed.contains(t))
        .cloned()
        .collect()
}

/// A counter both sides changed since `base`: `theirs` moved by mine's change. Saturates rather
/// than wraps; the result is checked like any value ([`CustomerFields::check`]), so a merge
/// that would leave it out of range is for a person.
pub fn merge_counter(base: i64, mine: i64, theirs: i64) -> i64 {
    theirs.saturating_add(mine.saturating_sub(base))
}

/// `tags` with `add` added and `remove` removed, each as [`CustomerFields::tag`] keeps it (so
/// `VIP` removes `vip`): how the back office and `tillctl` edit tags one by one.
pub fn edit_tags(
    tags: &BTreeSet<String>,
    add: &[String],
    remove: &[String],
) -> Result<BTreeSet<String>, String> {
    let normal = |raw: &[String]| -> Result<BTreeSet<String>, String> {
        raw.iter().map(|t| CustomerFields::tag(t)).collect()
    };
    let (added, removed) = (normal(add)?, normal(remove)?);
    Ok(tags
        .union(&added)
        .filter(|t| !removed.contains(*t))
        .cloned()
        .collect())
}

/// `edit` as a change queued in payload `format` means it: each field that format does not
/// carry keeps its value in `current` (an older till's edit never clears what it cannot see).
pub fn as_sent(edit: &CustomerFields, format: u32, current: &CustomerFields) -> CustomerFields {
    let mut fields = edit.clone();
    for field in CustomerField::ALL {
        if !field.carried_in(format) {
            field.copy(current, &mut fields);
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn customer(tags: &[&str], points: i64) -> CustomerFields {
        CustomerFields {
            name: "Ada".into(),
            tags: set(tags),
            loyalty_points: points,
            ..CustomerFields::default()
        }
    }

    #[test]
    fn concurrent_adds_of_a_set_both_hold() {
        let merged = merge_set(&set(&["vip"]), &set(&["vip", "a"]), &set(&["vip", "b"]));
        assert_eq!(
            merged,
            set(&["a", "b", "vip"]),
            "the till added a, the office b"
        );
    }

    #[test]
    fn a_remove_on_one_side_and_an_add_on_the_other_both_hold() {
        let merged = merge_set(&set(&["a"]), &set(&[]), &set(&["a", "b"]));
        assert_eq!(
            merged,
            set(&["b"]),
            "the till removed a while the office added b"
        );
    }

    #[test]
    fn a_set_changed_on_one_side_only_is_that_side() {
        let base = set(&["a", "b"]);
        assert_eq!(merge_set(&base, &base, &set(&["b", "c"])), set(&["b", "c"]));
        assert_eq!(merge_set(&base, &set(&["a"]), &base), set(&["a"]));
        assert_eq!(
            merge_set(&base, &set(&["b"]), &set(&["b"])),
            set(&["b"]),
            "both removed the same element: removed once"
        );
    }

    #[test]
    fn counter_changes_on_both_sides_add_up() {
        assert_eq!(merge_counter(100, 110, 105), 115, "+10 here and +5 there");
        assert_eq!(merge_counter(100, 90, 105), 95, "−10 here and +5 there");
        assert_eq!(merge_counter(100, 100, 105), 105, "unchanged here");
        assert_eq!(
            merge_counter(10, 0, 5),
            -5,
            "below zero is left for the check"
        );
        assert_eq!(merge_counter(0, i64::MAX, i64::MAX), i64::MAX, "saturates");
    }

    #[test]
    fn taking_mine_follows_each_fields_rule() {
        let base = customer(&["a"], 100);
        let mut mine = customer(&["a", "x"], 110);
        mine.note = Some("till note".into());
        let theirs = customer(&["a", "y"], 105);
        let mut merged = theirs.clone();
        for field in CustomerField::ALL {
            field.take_mine(Some(&base), &mine, &mut merged);
        }
        assert_eq!(merged.tags, set(&["a", "x", "y"]));
        assert_eq!(merged.loyalty_points, 115);
        assert_eq!(
            merged.note.as_deref(),
            Some("till note"),
            "a text field is mine"
        );
        let mut without_base = theirs.clone();
        CustomerField::LoyaltyPoints.take_mine(None, &mine, &mut without_base);
        assert_eq!(
            without_base.loyalty_points, 110,
            "with no base to measure a change from, mine is taken whole"
        );
    }

    #[test]
    fn the_table_names_each_field_as_customer_fields_does() {
        for field in CustomerField::ALL {
            assert_eq!(CustomerField::parse(field.as_str()), Some(field));
        }
        let names: Vec<&str> = CustomerField::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, CustomerFields::NAMES);
    }

    #[test]
    fn an_edit_of_an_older_format_leaves_the_fields_it_does_not_carry() {
        let current = customer(&["vip"], 40);
        let mut edit = customer(&[], 0);
        edit.name = "Ada L.".into();
        let kept = as_sent(&edit, 2, &current);
        assert_eq!(kept.name, "Ada L.", "what it carries is applied");
        assert_eq!(kept.tags, set(&["vip"]), "tags it cannot see are kept");
        assert_eq!(kept.loyalty_points, 40, "points it cannot see are kept");
        assert_eq!(as_sent(&edit, 3, &current), edit, "format 3 carries them");
    }

    #[test]
    fn tags_are_edited_one_by_one_as_the_rule_keeps_them() {
        let edited = edit_tags(
            &set(&["vip", "wholesale"]),
            &[" Newsletter ".into()],
            &["WHOLESALE".into()],
        );
        assert_eq!(edited, Ok(set(&["newsletter", "vip"])));
        assert!(
            edit_tags(&set(&[]), &["  ".into()], &[]).is_err(),
            "no empty tag"
        );
    }

    #[test]
    fn values_show_as_a_person_reads_them() {
        let fields = customer(&["b", "a"], 7);
        assert_eq!(
            CustomerField::Tags.value(&fields).shown().as_deref(),
            Some("a, b")
        );
        assert_eq!(
            CustomerField::LoyaltyPoints
                .value(&fields)
                .shown()
                .as_deref(),
            Some("7")
        );
        assert_eq!(CustomerField::Email.value(&fields).shown(), None);
        assert_eq!(CustomerField::Tags.value(&customer(&[], 0)).shown(), None);
        assert_eq!(
            CustomerField::differing(&fields, &customer(&["a"], 7)),
            vec![CustomerField::Tags]
        );
    }
}
