//! Every setting of the sync engine in one table ([`SETTINGS`]): its name, the environment
//! variable that fixes it (`TILL_SYNC_<NAME>`), its unit, what it allows, its default (the
//! engine's own, [`SyncConfig::default`]) and how it applies to a [`SyncConfig`]. The app's
//! Settings screen, `tillctl settings sync`, `tillctl sync` and the README all read this table,
//! and every value from anywhere (the environment, the store, a form, a flag) is checked by
//! [`Setting::parse`] only.
//!
//! Precedence, highest first: a flag of `tillctl sync` (for that run), the environment, the
//! stored settings, the default. A refused value is an error naming the setting, its value and
//! what is allowed; it never falls back to another layer, so sync refuses to start rather than
//! run with a value nobody chose.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use crate::config;
use crate::error::CoreError;
use crate::settings::{MAX_INTERVAL_SECS, MIN_INTERVAL_SECS};
use crate::sync::conflicts::{ConflictPolicy, PolicySet};
use crate::sync::{give_way, SyncConfig};

/// The prefix of every setting's environment variable.
pub const ENV_PREFIX: &str = "TILL_SYNC_";

/// The sync settings, in the order they are shown. Adding one is adding a row here (and its
/// line in the README's table, which a test compares with this one).
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "interval_secs",
        key: "app.sync_interval_secs",
        doc: "How often the till syncs while nothing waits to be sent",
        kind: Kind::Number {
            unit: Unit::Seconds,
            min: MIN_INTERVAL_SECS as u64,
            max: MAX_INTERVAL_SECS as u64,
            get: |c| c.tick.as_secs(),
            set: |c, v| c.tick = Duration::from_secs(v),
        },
    },
    Setting {
        name: "backlog_tick_ms",
        key: "sync.backlog_tick_ms",
        doc: "How soon the next cycle runs while a backlog remains",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 10,
            max: 60_000,
            get: |c| millis(c.backlog_tick),
            set: |c, v| c.backlog_tick = Duration::from_millis(v),
        },
    },
    Setting {
        name: "debounce_ms",
        key: "sync.debounce_ms",
        doc: "How long after a sale the till waits for more before syncing",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 0,
            max: 60_000,
            get: |c| millis(c.debounce),
            set: |c, v| c.debounce = Duration::from_millis(v),
        },
    },
    Setting {
        name: "probe_interval_secs",
        key: "sync.probe_interval_secs",
        doc: "How often the back office is asked whether it is back, while offline",
        kind: Kind::Number {
            unit: Unit::Seconds,
            min: 1,
            max: 3_600,
            get: |c| c.probe_interval.as_secs(),
            set: |c, v| c.probe_interval = Duration::from_secs(v),
        },
    },
    Setting {
        name: "batch_size",
        key: "sync.batch_size",
        doc: "Sales and changes in the first push batch (it grows while the server keeps up)",
        kind: Kind::Number {
            unit: Unit::Items,
            min: 1,
            max: till_protocol::MAX_PUSH_BATCH as u64,
            get: |c| c.batch_size as u64,
            set: |c, v| c.batch_size = count(v),
        },
    },
    Setting {
        name: "max_batch_size",
        key: "sync.max_batch_size",
        doc: "The largest push batch",
        kind: Kind::Number {
            unit: Unit::Items,
            min: 1,
            max: till_protocol::MAX_PUSH_BATCH as u64,
            get: |c| c.max_batch_size as u64,
            set: |c, v| c.max_batch_size = count(v),
        },
    },
    Setting {
        name: "batch_target_ms",
        key: "sync.batch_target_ms",
        doc: "The time on the wire a push batch aims at; the batch size follows the link's measured speed",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 100,
            max: 60_000,
            get: |c| millis(c.batch_target),
            set: |c, v| c.batch_target = Duration::from_millis(v),
        },
    },
    Setting {
        name: "send_ahead",
        key: "sync.send_ahead",
        doc: "Prepare and send the next batch while the last answer is applied",
        kind: Kind::Flag {
            get: |c| c.send_ahead,
            set: |c, v| c.send_ahead = v,
        },
    },
    Setting {
        name: "give_way_ms",
        key: "sync.give_way_ms",
        doc: "How long after a sale the engine holds its own writes (0: never)",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 0,
            max: give_way::MAX_HOLD.as_millis() as u64,
            get: |c| millis(c.give_way),
            set: |c, v| c.give_way = Duration::from_millis(v),
        },
    },
    Setting {
        name: "pull_limit",
        key: "sync.pull_limit",
        doc: "Catalog and customer changes asked for in one pull",
        kind: Kind::Number {
            unit: Unit::Items,
            min: 1,
            max: till_protocol::MAX_PULL_LIMIT as u64,
            get: |c| u64::from(c.pull_limit),
            set: |c, v| c.pull_limit = u32::try_from(v).unwrap_or(till_protocol::MAX_PULL_LIMIT),
        },
    },
    Setting {
        name: "circuit_threshold",
        key: "sync.circuit_threshold",
        doc: "Server errors or timeouts in a row after which only health probes are sent until the back office answers again (0: never)",
        kind: Kind::Number {
            unit: Unit::Faults,
            min: 0,
            max: 1000,
            get: |c| u64::from(c.circuit_threshold),
            set: |c, v| c.circuit_threshold = u32::try_from(v).unwrap_or(u32::MAX),
        },
    },
    Setting {
        name: "backoff_base_ms",
        key: "sync.backoff_base_ms",
        doc: "The longest wait after the first failure (it doubles with each one after)",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 10,
            max: 60_000,
            get: |c| millis(c.backoff.base),
            set: |c, v| c.backoff.base = Duration::from_millis(v),
        },
    },
    Setting {
        name: "backoff_cap_ms",
        key: "sync.backoff_cap_ms",
        doc: "The longest wait between two attempts",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 10,
            max: 3_600_000,
            get: |c| millis(c.backoff.cap),
            set: |c, v| c.backoff.cap = Duration::from_millis(v),
        },
    },
    Setting {
        name: "connect_timeout_ms",
        key: "sync.connect_timeout_ms",
        doc: "How long a connection to the back office may take",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 100,
            max: 120_000,
            get: |c| millis(c.timeouts.connect),
            set: |c, v| c.timeouts.connect = Duration::from_millis(v),
        },
    },
    Setting {
        name: "request_timeout_ms",
        key: "sync.request_timeout_ms",
        doc: "How long one request may take, answer included (a full batch must fit)",
        kind: Kind::Number {
            unit: Unit::Milliseconds,
            min: 1_000,
            max: 600_000,
            get: |c| millis(c.timeouts.request),
            set: |c, v| c.timeouts.request = Duration::from_millis(v),
        },
    },
    Setting {
        name: "applied_retention_hours",
        key: "sync.applied_retention_hours",
        doc: "How long sent and acknowledged queue rows are kept (tickets and the journal always)",
        kind: Kind::Number {
            unit: Unit::Hours,
            min: 1,
            max: 24 * 366,
            get: |c| c.applied_retention.as_secs() / 3_600,
            set: |c, v| c.applied_retention = Duration::from_secs(v * 3_600),
        },
    },
    Setting {
        name: "customer_policy",
        key: "sync.customer_policy",
        doc: "How conflicts over customers are settled",
        kind: Kind::Policy {
            get: |c| c.policies.customer.name(),
            set: |c, p| c.policies.customer = p,
        },
    },
    Setting {
        name: "ticket_policy",
        key: "sync.ticket_policy",
        doc: "How conflicts over tickets are settled",
        kind: Kind::Policy {
            get: |c| c.policies.ticket.name(),
            set: |c, p| c.policies.ticket = p,
        },
    },
];

/// One sync setting.
pub struct Setting {
    /// Stable: it names the environment variable and what `tillctl` and the app show.
    pub name: &'static str,
    /// Where the store keeps it (the `meta` table); stable, as it is stored in databases.
    key: &'static str,
    /// What it means, in a line.
    pub doc: &'static str,
    kind: Kind,
}

/// What a setting holds, and how it reads and writes a [`SyncConfig`].
enum Kind {
    /// A whole number from `min` to `max` in `unit`.
    Number {
        unit: Unit,
        min: u64,
        max: u64,
        get: fn(&SyncConfig) -> u64,
        set: fn(&mut SyncConfig, u64),
    },
    /// `true` or `false`.
    Flag {
        get: fn(&SyncConfig) -> bool,
        set: fn(&mut SyncConfig, bool),
    },
    /// A conflict policy by its name ([`PolicySet::named`]).
    Policy {
        get: fn(&SyncConfig) -> &'static str,
        set: fn(&mut SyncConfig, Arc<dyn ConflictPolicy>),
    },
}

/// The unit of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SettingUnit"))]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Seconds,
    Milliseconds,
    Hours,
    Items,
    /// Failed requests in a row.
    Faults,
}

impl Unit {
    /// How the unit is written after a number.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Hours => "h",
            Unit::Items => "items",
            Unit::Faults => "faults",
        }
    }
}

/// Where the value in force comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "SettingSource"))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A flag of `tillctl sync`, for that run only.
    Flag,
    /// The `TILL_SYNC_<NAME>` environment variable: it cannot be changed from the app.
    Env,
    /// Saved in the till's store (the app's Settings, `tillctl settings sync set`).
    Stored,
    /// Nothing set it.
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Env => "env",
            Source::Stored => "stored",
            Source::Default => "default",
        }
    }
}

/// A value as stored: numbers as JSON numbers (the interval was stored so before this table),
/// flags as booleans, policies as their names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Number(u64),
    Flag(bool),
    Name(String),
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stored::Number(n) => write!(f, "{n}"),
            Stored::Flag(b) => write!(f, "{b}"),
            Stored::Name(s) => f.write_str(s),
        }
    }
}

/// A value that passed its setting's check; only [`Setting::parse`] makes one.
#[derive(Clone)]
pub struct Checked {
    value: Stored,
    policy: Option<Arc<dyn ConflictPolicy>>,
}

impl std::fmt::Debug for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Checked({})", self.value)
    }
}

impl std::fmt::Display for Checked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.value.fmt(f)
    }
}

/// Why a sync setting was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// The value is not one the setting allows.
    #[error("{} {value:?} is not a valid {name}: it is {allowed}", from_where(*.from, name))]
    Invalid {
        name: &'static str,
        value: String,
        /// What it allows, e.g. `0 to 60000 ms`.
        allowed: String,
        /// Where the value came from; `None` when a person entered it.
        from: Option<Source>,
    },
    /// No sync setting has this name.
    #[error("no sync setting is named {0:?}; the settings are {names}", names = names())]
    Unknown(String),
    /// The environment fixes the setting, so saving it would change nothing.
    #[error("{name} is fixed by the environment ({env}); change it there")]
    FixedByEnv { name: &'static str, env: String },
}

fn from_where(source: Option<Source>, name: &str) -> String {
    match source {
        Some(Source::Env) => format!("the environment's {}", env_var(name)),
        Some(Source::Stored) => "the stored value".into(),
        Some(Source::Flag) => "the flag's value".into(),
        Some(Source::Default) | None => "the value".into(),
    }
}

fn names() -> String {
    SETTINGS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The environment variable of the setting named `name`.
pub fn env_var(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

/// Reads an environment variable; one that is not valid Unicode reads as replaced characters, so
/// its check refuses it rather than ignoring it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn count(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

impl Setting {
    /// The setting named `name`.
    pub fn named(name: &str) -> Result<&'static Setting, SettingError> {
        SETTINGS
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| SettingError::Unknown(name.to_owned()))
    }

    /// Its environment variable, `TILL_SYNC_<NAME>`.
    pub fn env(&self) -> String {
        env_var(self.name)
    }

    /// Its unit, for numbers.
    pub fn unit(&self) -> Option<Unit> {
        match self.kind {
            Kind::Number { unit, .. } => Some(unit),
            Kind::Flag { .. } | Kind::Policy { .. } => None,
        }
    }

    /// The smallest and largest number it allows.
    pub fn range(&self) -> Option<(u64, u64)> {
        match self.kind {
            Kind::Number { min, max, .. } => Some((min, max)),
            Kind::Flag { .. } | Kind::Policy { .. } => None,
        }
    }

    /// The words it allows (a flag's or a policy's).
    pub fn choices(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Number { .. } => &[],
            Kind::Flag { .. } => &["true", "false"],
            Kind::Policy { .. } => PolicySet::NAMES,
        }
    }

    /// What it allows, as people read it: `5 to 86400 s`, `true or false`, `manual, …`.
    pub fn allowed(&self) -> String {
        match self.kind {
            Kind::Number { unit, min, max, .. } => format!("{min} to {max} {}", unit.symbol()),
            Kind::Flag { .. } => "true or false".into(),
            Kind::Policy { .. } => format!("one of {}", PolicySet::NAMES.join(", ")),
        }
    }

    /// Its value in `config`, as text.
    pub fn value_in(&self, config: &SyncConfig) -> String {
        match self.kind {
            Kind::Number { get, .. } => get(config).to_string(),
            Kind::Flag { get, .. } => get(config).to_string(),
            Kind::Policy { get, .. } => get(config).to_owned(),
        }
    }

    /// Its default: the engine's own.
    pub fn default_value(&self) -> String {
        self.value_in(&SyncConfig::default())
    }

    /// Checks `text` (surrounding blanks ignored) from `source` (`None`: a person entered it):
    /// the one check every value passes, wherever it comes from.
    pub fn parse(&self, text: &str, source: Option<Source>) -> Result<Checked, SettingError> {
        let refused = || SettingError::Invalid {
            name: self.name,
            value: text.to_owned(),
            allowed: self.allowed(),
            from: source,
        };
        let word = text.trim();
        let value = match self.kind {
            Kind::Number { min, max, .. } => Some(word)
                .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|w| w.parse::<u64>().ok())
                .filter(|n| (min..=max).contains(n))
                .map(Stored::Number),
            Kind::Flag { .. } => word.parse::<bool>().ok().map(Stored::Flag),
            Kind::Policy { .. } => PolicySet::named(word).map(|_| Stored::Name(word.to_owned())),
        }
        .ok_or_else(refused)?;
        Ok(Checked {
            policy: PolicySet::named(word).filter(|_| matches!(self.kind, Kind::Policy { .. })),
            value,
        })
    }

    /// Writes a checked value into `config`.
    fn apply(&self, config: &mut SyncConfig, checked: &Checked) {
        match (&self.kind, &checked.value, &checked.policy) {
            (Kind::Number { set, .. }, Stored::Number(n), _) => set(config, *n),
            (Kind::Flag { set, .. }, Stored::Flag(b), _) => set(config, *b),
            (Kind::Policy { set, .. }, _, Some(policy)) => set(config, Arc::clone(policy)),
            // A `Checked` is made by this setting's `parse`, so its value is of this kind.
            _ => {}
        }
    }

    fn stored_key(&self) -> config::Key<Stored> {
        config::Key::new(self.key)
    }

    /// The stored value, unchecked.
    fn stored(&self, conn: &Connection) -> Result<Option<String>, CoreError> {
        Ok(config::get(conn, &self.stored_key())?.map(|v| v.to_string()))
    }
}

/// One setting as it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncSettingView {
    pub name: String,
    /// Its environment variable.
    pub env: String,
    pub doc: String,
    /// A number's unit; `null` for a flag or a policy.
    pub unit: Option<Unit>,
    /// The value in force, as text (`30`, `true`, `field_merge`); when it is refused, the text
    /// that was refused.
    pub value: String,
    pub source: Source,
    pub default: String,
    /// What it allows, as people read it.
    pub allowed: String,
    /// A number's bounds.
    pub min: Option<u64>,
    pub max: Option<u64>,
    /// A flag's or a policy's words.
    pub choices: Vec<String>,
    /// Why the value in force is refused: sync does not start until it is fixed.
    pub error: Option<String>,
}

/// One setting as a person saves it: its name and the value as entered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct SyncSettingChange {
    pub name: String,
    pub value: String,
}

/// Where values come from besides the store: the environment (injected, so tests never read
/// the process's) and the flags of one `tillctl sync` run.
pub struct Layers<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `(setting name, value)` pairs, above everything else.
    pub flags: &'a [(&'static str, String)],
}

impl<'a> Layers<'a> {
    /// The environment only.
    pub fn env(env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Layers { env, flags: &[] }
    }

    /// The value of `setting` that wins, and where it came from; `None` when nothing set it.
    fn pick(
        &self,
        conn: &Connection,
        setting: &Setting,
    ) -> Result<Option<(String, Source)>, CoreError> {
        if let Some((_, v)) = self.flags.iter().find(|(n, _)| *n == setting.name) {
            return Ok(Some((v.clone(), Source::Flag)));
        }
        if let Some(v) = (self.env)(&setting.env()) {
            return Ok(Some((v, Source::Env)));
        }
        Ok(setting.stored(conn)?.map(|v| (v, Source::Stored)))
    }
}

/// Every setting as it is in force over `base` (the engine's defaults, or a caller's own),
/// refused values included with their reason.
pub fn view(
    conn: &Connection,
    layers: &Layers<'_>,
    base: &SyncConfig,
) -> Result<Vec<SyncSettingView>, CoreError> {
    SETTINGS
        .iter()
        .map(|s| {
            let (value, source, error) = match layers.pick(conn, s)? {
                Some((text, source)) => {
                    let error = s.parse(&text, Some(source)).err().map(|e| e.to_string());
                    (text.trim().to_owned(), source, error)
                }
                None => (s.value_in(base), Source::Default, None),
            };
            Ok(SyncSettingView {
                name: s.name.into(),
                env: s.env(),
                doc: s.doc.into(),
                unit: s.unit(),
                value,
                source,
                default: s.value_in(base),
                allowed: s.allowed(),
                min: s.range().map(|r| r.0),
                max: s.range().map(|r| r.1),
                choices: s.choices().iter().map(|c| (*c).to_owned()).collect(),
                error,
            })
        })
        .collect()
}

/// Every setting in force for this process: its environment, then the store, over the
/// engine's defaults.
pub fn in_force(conn: &Connection) -> Result<Vec<SyncSettingView>, CoreError> {
    view(conn, &Layers::env(&process_env), &SyncConfig::default())
}

/// The engine's configuration: `base` with every setting that is set applied. The first refused
/// value is the error, and nothing is started with a value nobody chose.
pub fn config(
    conn: &Connection,
    layers: &Layers<'_>,
    base: SyncConfig,
) -> Result<SyncConfig, CoreError> {
    for (name, _) in layers.flags {
        Setting::named(name)?;
    }
    let mut config = base;
    for s in SETTINGS {
        if let Some((text, source)) = layers.pick(conn, s)? {
            let checked = s.parse(&text, Some(source))?;
            s.apply(&mut config, &checked);
        }
    }
    Ok(config)
}

/// Saves settings as a person entered them, all or none: each is checked, and one the
/// environment fixes is refused (`FixedByEnv`: saving it would change nothing in force).
pub fn save(
    conn: &mut Connection,
    env: &dyn Fn(&str) -> Option<String>,
    changes: &[SyncSettingChange],
) -> Result<(), CoreError> {
    let checked = changes
        .iter()
        .map(|SyncSettingChange { name, value: text }| {
            let setting = Setting::named(name)?;
            if (env)(&setting.env()).is_some() {
                return Err(SettingError::FixedByEnv {
                    name: setting.name,
                    env: setting.env(),
                });
            }
            Ok((setting, setting.parse(text, None)?))
        })
        .collect::<Result<Vec<_>, SettingError>>()?;
    let tx = conn.transaction()?;
    for (setting, value) in &checked {
        config::set(&tx, &setting.stored_key(), &value.value)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Store::open(dir.path())
            .expect("opens")
            .connect()
            .expect("connects");
        (dir, conn)
    }

    #[test]
    fn every_number_takes_its_bounds_and_refuses_one_past_them() {
        for s in SETTINGS {
            let Some((min, max)) = s.range() else {
                continue;
            };
            for ok in [min, max] {
                assert!(
                    s.parse(&ok.to_string(), Some(Source::Stored)).is_ok(),
                    "{} takes {ok}",
                    s.name
                );
            }
            let mut bad = vec![max + 1, u64::MAX];
            bad.extend(min.checked_sub(1));
            for n in bad {
                let e = s
                    .parse(&n.to_string(), Some(Source::Env))
                    .expect_err(s.name);
                assert_eq!(
                    e,
                    SettingError::Invalid {
                        name: s.name,
                        value: n.to_string(),
                        allowed: format!("{min} to {max} {}", s.unit().expect("a unit").symbol()),
                        from: Some(Source::Env),
                    },
                    "{} refuses {n}, naming itself, the value and its range",
                    s.name
                );
            }
            for word in ["", "-1", "+5", "1.5", "ten", "1e3", "1 000"] {
                assert!(
                    s.parse(word, Some(Source::Stored)).is_err(),
                    "{} refuses {word:?}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn flags_and_policies_take_only_their_words() {
        for s in SETTINGS.iter().filter(|s| s.range().is_none()) {
            assert!(!s.choices().is_empty(), "{} lists what it takes", s.name);
            for word in s.choices() {
                let checked = s.parse(word, Some(Source::Stored)).expect(word);
                assert_eq!(checked.to_string(), *word);
            }
            for bad in ["", "yes", "1", "Manual", "somebody_wins"] {
                assert!(
                    s.parse(bad, Some(Source::Stored)).is_err(),
                    "{} refuses {bad:?}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn every_default_passes_its_own_check_and_every_name_its_env_var() {
        for s in SETTINGS {
            assert!(
                s.parse(&s.default_value(), Some(Source::Default)).is_ok(),
                "the default of {} ({}) is allowed",
                s.name,
                s.default_value()
            );
            assert_eq!(s.env(), format!("TILL_SYNC_{}", s.name.to_uppercase()));
            assert!(
                s.key == format!("sync.{}", s.name) || s.name == "interval_secs",
                "{} is stored under its own name",
                s.name
            );
        }
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len(), "no two settings share a name");
    }

    #[test]
    fn applying_every_default_gives_the_engines_default_config() {
        let (_dir, conn) = store();
        let all_defaults: Vec<_> = SETTINGS
            .iter()
            .map(|s| (s.name, s.default_value()))
            .collect();
        let layers = Layers {
            env: &no_env,
            flags: &all_defaults,
        };
        let config = config(&conn, &layers, SyncConfig::default()).expect("all allowed");
        assert_eq!(
            format!("{config:?}"),
            format!("{:?}", SyncConfig::default()),
            "each row reads and writes the same field"
        );
    }

    #[test]
    fn every_row_changes_its_own_field() {
        let (_dir, conn) = store();
        for s in SETTINGS {
            let other = match s.kind {
                Kind::Number { min, max, get, .. } => {
                    let d = get(&SyncConfig::default());
                    if d == max { min } else { d + 1 }.to_string()
                }
                Kind::Flag { get, .. } => (!get(&SyncConfig::default())).to_string(),
                Kind::Policy { get, .. } => PolicySet::NAMES
                    .iter()
                    .find(|n| **n != get(&SyncConfig::default()))
                    .expect("another policy")
                    .to_string(),
            };
            let flags = [(s.name, other.clone())];
            let layers = Layers {
                env: &no_env,
                flags: &flags,
            };
            let config = config(&conn, &layers, SyncConfig::default()).expect("allowed");
            assert_eq!(s.value_in(&config), other, "{} applies", s.name);
            for t in SETTINGS.iter().filter(|t| t.name != s.name) {
                assert_eq!(
                    t.value_in(&config),
                    t.default_value(),
                    "setting {} leaves {} alone",
                    s.name,
                    t.name
                );
            }
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_store_which_beats_the_default() {
        let (_dir, mut conn) = store();
        let env = |name: &str| (name == "TILL_SYNC_DEBOUNCE_MS").then(|| "700".to_owned());
        let base = SyncConfig::default;
        let debounce = |c: &SyncConfig| c.debounce.as_millis();

        let stored_only = [SyncSettingChange {
            name: "debounce_ms".into(),
            value: "500".into(),
        }];
        save(&mut conn, &no_env, &stored_only).expect("saves");
        let from_store = config(&conn, &Layers::env(&no_env), base()).expect("ok");
        assert_eq!(debounce(&from_store), 500, "the store beats the default");

        let from_env = config(&conn, &Layers::env(&env), base()).expect("ok");
        assert_eq!(debounce(&from_env), 700, "the environment beats the store");

        let flags = [("debounce_ms", "900".to_owned())];
        let layers = Layers {
            env: &env,
            flags: &flags,
        };
        assert_eq!(debounce(&config(&conn, &layers, base()).expect("ok")), 900);

        let shown = view(&conn, &Layers::env(&env), &base()).expect("views");
        let row = shown.iter().find(|r| r.name == "debounce_ms").expect("row");
        assert_eq!((row.value.as_str(), row.source), ("700", Source::Env));
        let tick = shown
            .iter()
            .find(|r| r.name == "interval_secs")
            .expect("row");
        assert_eq!((tick.value.as_str(), tick.source), ("30", Source::Default));
    }

    #[test]
    fn a_refused_value_anywhere_stops_the_config_and_is_shown_not_replaced() {
        let (_dir, conn) = store();
        let env = |name: &str| (name == "TILL_SYNC_BATCH_SIZE").then(|| "0".to_owned());
        let e = config(&conn, &Layers::env(&env), SyncConfig::default())
            .expect_err("never silently the default");
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
        assert_eq!(
            e.to_string(),
            "the environment's TILL_SYNC_BATCH_SIZE \"0\" is not a valid batch_size: it is 1 to \
             1000 items"
        );
        let shown = view(&conn, &Layers::env(&env), &SyncConfig::default()).expect("views");
        let row = shown.iter().find(|r| r.name == "batch_size").expect("row");
        assert_eq!(row.value, "0");
        assert_eq!(row.error.as_deref(), Some(e.to_string().as_str()));

        config::set(
            &conn,
            &Setting::named("pull_limit").expect("row").stored_key(),
            &Stored::Number(0),
        )
        .expect("a value from an older or edited store");
        let e = config(&conn, &Layers::env(&no_env), SyncConfig::default()).expect_err("stored");
        assert!(
            e.to_string()
                .starts_with("the stored value \"0\" is not a valid pull_limit"),
            "{e}"
        );
    }

    #[test]
    fn saving_is_all_or_nothing_and_refuses_what_the_environment_fixes() {
        let (_dir, mut conn) = store();
        let env = |name: &str| (name == "TILL_SYNC_GIVE_WAY_MS").then(|| "0".to_owned());
        let changes = |pairs: &[(&str, &str)]| -> Vec<SyncSettingChange> {
            pairs
                .iter()
                .map(|(n, v)| SyncSettingChange {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect()
        };
        let refused = [
            (
                changes(&[("debounce_ms", "10"), ("pull_limit", "1001")]),
                "pull_limit",
            ),
            (
                changes(&[("debounce_ms", "10"), ("give_way_ms", "50")]),
                "fixed by the environment",
            ),
            (
                changes(&[("debounce_ms", "10"), ("tick", "5")]),
                "no sync setting is named \"tick\"",
            ),
        ];
        for (change, says) in refused {
            let e = save(&mut conn, &env, &change).expect_err(says);
            assert!(e.to_string().contains(says), "{e}");
            assert_eq!(
                Setting::named("debounce_ms")
                    .expect("row")
                    .stored(&conn)
                    .expect("reads"),
                None,
                "a refused save changes nothing"
            );
        }
        save(
            &mut conn,
            &env,
            &changes(&[("interval_secs", " 60 "), ("customer_policy", "manual")]),
        )
        .expect("saves");
        assert_eq!(
            config::get(&conn, &crate::settings::SYNC_INTERVAL_SECS).expect("reads"),
            Some(60),
            "the interval is the one the app's settings always stored"
        );
        let c = config(&conn, &Layers::env(&env), SyncConfig::default()).expect("ok");
        assert_eq!(c.policies.customer.name(), "manual");
        assert_eq!(c.give_way, Duration::ZERO, "from the environment");
    }

    /// The README's table of settings, as this table says it.
    fn readme_table() -> String {
        let mut out =
            String::from("| Variable | Default | Allowed | Meaning |\n|---|---|---|---|\n");
        for s in SETTINGS {
            let default = match s.unit() {
                Some(unit) => format!("{} {}", s.default_value(), unit.symbol()),
                None => s.default_value(),
            };
            out.push_str(&format!(
                "| `{}` | {default} | {} | {} |\n",
                s.env(),
                s.allowed(),
                s.doc
            ));
        }
        out
    }

    #[test]
    fn the_readme_lists_every_setting_as_the_table_says() {
        let readme = include_str!("../../../../README.md");
        let (start, end) = ("<!-- sync-settings -->\n", "<!-- /sync-settings -->");
        let table = readme
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(table, _)| table)
            .expect("the README marks its table of sync settings");
        assert_eq!(
            table,
            readme_table(),
            "the README's table of sync settings drifted from the table in code; put this \
             between its markers:\n{}",
            readme_table()
        );
    }
}
