//! The fields of a customer as `tillctl customers add|edit` and `till-server customer add|edit`
//! both take them: one set of flags, so the till and the back office are driven alike.

/// The fields a command names; a field not named keeps its value.
#[derive(Debug, Default, clap::Args)]
pub struct FieldArgs {
    /// A name (required for a new customer)
    #[arg(long)]
    pub name: Option<String>,
    /// An e-mail address; "" clears it
    #[arg(long)]
    pub email: Option<String>,
    /// A phone number; "" clears it
    #[arg(long)]
    pub phone: Option<String>,
    /// A note; "" clears it
    #[arg(long)]
    pub note: Option<String>,
    /// Adds a tag (trimmed and lower-cased); may be given more than once
    #[arg(long = "add-tag", value_name = "TAG")]
    pub add_tags: Vec<String>,
    /// Removes a tag; may be given more than once
    #[arg(long = "remove-tag", value_name = "TAG")]
    pub remove_tags: Vec<String>,
    /// Moves the loyalty points by N (negative takes points away); merges with the other
    /// side's change
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        conflicts_with = "points"
    )]
    pub add_points: Option<i64>,
    /// Sets the loyalty points to N
    #[arg(long, value_name = "N")]
    pub points: Option<i64>,
}

/// What a command does to the loyalty points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Points {
    /// Moves them by this many (a delta, merged as a counter).
    Add(i64),
    /// Sets them to this.
    Set(i64),
}

impl FieldArgs {
    /// The change to the points the command names, if any (the flags exclude each other).
    pub fn points_change(&self) -> Option<Points> {
        self.add_points
            .map(Points::Add)
            .or(self.points.map(Points::Set))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        fields: FieldArgs,
    }

    fn parsed(args: &[&str]) -> Result<FieldArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("edit").chain(args.iter().copied()))
            .map(|c| c.fields)
    }

    #[test]
    fn points_are_moved_or_set_never_both() {
        let moved = parsed(&["--add-points", "-5"]).expect("a negative move");
        assert_eq!(moved.points_change(), Some(Points::Add(-5)));
        let set = parsed(&["--points", "40"]).expect("set");
        assert_eq!(set.points_change(), Some(Points::Set(40)));
        assert_eq!(
            parsed(&["--name", "Ann"])
                .expect("no points")
                .points_change(),
            None
        );
        assert!(
            parsed(&["--add-points", "1", "--points", "2"]).is_err(),
            "moving and setting at once is refused"
        );
    }

    #[test]
    fn tags_may_be_added_and_removed_many_at_once() {
        let tags = parsed(&[
            "--add-tag",
            "vip",
            "--add-tag",
            "staff",
            "--remove-tag",
            "new",
        ])
        .expect("tags");
        assert_eq!(tags.add_tags, ["vip", "staff"]);
        assert_eq!(tags.remove_tags, ["new"]);
    }
}
