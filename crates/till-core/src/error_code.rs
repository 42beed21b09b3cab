//! Every error code Till shows, in one list: the core's, the sync engine's, the desktop shell's,
//! `tillctl`'s and the one the UI makes itself. The UI switches on these (their TypeScript type is
//! generated from this enum), `tillctl` prints them as `error: <message> (<code>)`, and logs and
//! the stored sync state carry them. The names are stable snake_case: scripts and stored rows
//! rely on them, so a name never changes; a new failure gets a new variant.

use serde::{Deserialize, Serialize};

/// Declares [`ErrorCode`] with each variant's stable name written once, so the enum, its serde
/// names, [`ErrorCode::as_str`] and [`ErrorCode::ALL`] cannot drift apart.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
        /// A stable code for one kind of failure.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ #[serde(rename = $name)] $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                }
            }
        }
    };
}

error_codes! {
    // The cart could not be priced (`till_protocol::pricing::PricingError`).
    /// The cart has no lines.
    EmptyCart = "empty_cart",
    /// The cart has more lines than one ticket may hold.
    TooManyLines = "too_many_lines",
    /// A quantity is zero, negative or too large.
    InvalidQuantity = "invalid_quantity",
    /// A unit price is negative or too large.
    InvalidPrice = "invalid_price",
    /// A tax rate is outside 0–100 %.
    InvalidTaxRate = "invalid_tax_rate",
    /// A discount is negative or larger than what it discounts.
    InvalidDiscount = "invalid_discount",
    /// An amount would not fit the money type.
    AmountOverflow = "amount_overflow",

    // Ring-up, the catalog and the store.
    /// A cart line names a product the catalog does not hold.
    UnknownProduct = "unknown_product",
    /// The cart names a customer this till does not know.
    UnknownCustomer = "unknown_customer",
    /// A cart line names a product that is no longer on sale.
    InactiveProduct = "inactive_product",
    /// A product names a tax category the catalog does not hold.
    UnknownTaxRate = "unknown_tax_rate",
    /// No product on sale has the scanned barcode.
    UnknownBarcode = "unknown_barcode",
    /// A scanned code is no product's barcode, SKU or name.
    UnknownCode = "unknown_code",
    /// Text typed in the register's search finds no product.
    NoMatch = "no_match",
    /// No catalog has been loaded.
    NoCatalog = "no_catalog",
    /// The tenders cover less than the amount due.
    InsufficientTender = "insufficient_tender",
    /// A card tender's approval reference or last four digits held a full card number.
    CardNumberForbidden = "card_number_forbidden",
    /// A free-text field (a customer's details, a reason, a name) held what looks like a full
    /// card number; nothing was written.
    CardNumberInText = "card_number_in_text",
    /// Input was refused: malformed, out of range, or breaking a rule its message names.
    InvalidInput = "invalid_input",
    /// The ticket was already voided or refunded.
    AlreadyReversed = "already_reversed",
    /// The ticket is itself a void or refund.
    NotReversible = "not_reversible",
    /// No ticket with that id or number.
    TicketNotFound = "ticket_not_found",
    /// A refund asks back more of a line than is left to refund of it.
    NothingLeftToRefund = "nothing_left_to_refund",

    // Cashiers, approvals and shifts.
    /// The till has employees and the operation names none (`--pin`).
    PinRequired = "pin_required",
    /// No active employee has this PIN.
    WrongPin = "wrong_pin",
    /// Too many wrong PINs in a row: every PIN is refused for a while.
    PinLocked = "pin_locked",
    /// The operation needs a manager's approval (`--approve-pin`).
    ApprovalRequired = "approval_required",
    /// The approving PIN is not a manager's.
    NotAManager = "not_a_manager",
    /// A sale or cash movement on a till with employees needs an open shift.
    NoOpenShift = "no_open_shift",
    /// A shift is already open on this till.
    ShiftAlreadyOpen = "shift_already_open",
    /// The database was written by a newer Till.
    SchemaTooNew = "schema_too_new",
    /// The database file is damaged; it was left untouched.
    DatabaseCorrupt = "database_corrupt",
    /// The disk is full; the operation was rolled back.
    DiskFull = "disk_full",
    /// No data directory could be found or created.
    DataDirUnavailable = "data_dir_unavailable",
    /// Any other database failure.
    DatabaseError = "database_error",
    /// Any other I/O failure.
    IoError = "io_error",

    // Sync.
    /// The terminal is not enrolled with a back office.
    NotEnrolled = "not_enrolled",
    /// Another sync is running on this data dir.
    SyncBusy = "sync_busy",
    /// The server answered something that contradicts the protocol.
    ProtocolError = "protocol_error",
    /// No such conflict, failed item or customer.
    NotFound = "not_found",
    /// The operation does not apply to the item in its current state.
    NotApplicable = "not_applicable",
    /// Enrolling would break the mutation sequence the server tracks.
    EnrolmentRefused = "enrolment_refused",
    /// This till's history differs from the back office's (a restored or copied data dir):
    /// sync stops until the till is enrolled as a new terminal.
    Diverged = "diverged",
    /// The back office refused a push whose chain does not go on from the head it accepted (a
    /// queued mutation changed after it was linked): sync stops until a person looks.
    JournalBreak = "journal_break",
    /// The check at the end of a drain found the back office's record of this till's mutations
    /// not what the till sent (its last settled sequence or its count of settled mutations);
    /// the next drain checks again.
    VerifyMismatch = "verify_mismatch",
    /// The sync status could not be read from the store; the counts shown are the last known.
    StatusUnreadable = "status_unreadable",

    // The network (`sync::TransportError`).
    /// No connection to the server could be made.
    ServerUnreachable = "server_unreachable",
    /// The request may have been sent but no complete answer came.
    NoAnswer = "no_answer",
    /// The server failed (5xx).
    ServerError = "server_error",
    /// The server asks to slow down (429).
    RateLimited = "rate_limited",
    /// The server refused this terminal's token (401, 403).
    Unauthorized = "unauthorized",
    /// The server refused the request as sent (another 4xx).
    RequestRefused = "request_refused",
    /// A success answer whose body is not what the protocol says.
    MalformedResponse = "malformed_response",
    /// The server address is not usable.
    BadServerUrl = "bad_server_url",
    /// Plain http to another machine, not allowed for this back office: nothing was sent.
    CleartextRefused = "cleartext_refused",
    /// The back office's certificate is not the one pinned at enrolment: nothing was sent.
    CertificatePinMismatch = "certificate_pin_mismatch",
    /// The back office's certificate is not trusted (unknown CA, another host, out of date):
    /// nothing was sent.
    UntrustedCertificate = "untrusted_certificate",
    /// A request would have carried the till's token to another origin than the one it was
    /// given for: nothing was sent.
    TokenOriginMismatch = "token_origin_mismatch",
    /// A new back office address needs a new enrolment token: the till's token is never sent
    /// to another address.
    EnrolmentTokenNeeded = "enrolment_token_needed",

    // The desktop shell.
    /// A command did not finish (its task panicked or was cancelled); the log says why.
    Internal = "internal",

    // `tillctl`.
    /// `ring-up --demo` found no active product to sell.
    NoProducts = "no_products",
    /// `verify-journal` found a broken link in the hash chain.
    JournalBroken = "journal_broken",

    // The UI itself.
    /// The UI could not reach the shell at all; made by the UI, never sent by Rust.
    IpcError = "ipc_error",
}

impl ErrorCode {
    /// The code with this name, if there is one (codes read back from the store).
    pub fn parse(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl From<&till_protocol::pricing::PricingError> for ErrorCode {
    fn from(e: &till_protocol::pricing::PricingError) -> Self {
        use till_protocol::pricing::PricingError as P;
        match e {
            P::EmptyCart => ErrorCode::EmptyCart,
            P::TooManyLines { .. } => ErrorCode::TooManyLines,
            P::InvalidQuantity { .. } => ErrorCode::InvalidQuantity,
            P::InvalidPrice { .. } => ErrorCode::InvalidPrice,
            P::InvalidTaxRate { .. } => ErrorCode::InvalidTaxRate,
            P::InvalidDiscount(_) => ErrorCode::InvalidDiscount,
            P::Overflow => ErrorCode::AmountOverflow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_protocol::pricing::PricingError;

    #[test]
    fn every_code_serializes_as_its_stable_name_and_parses_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).expect("serializes");
            assert_eq!(json, code.as_str(), "serde and as_str name {code:?} alike");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} is named twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name} is snake_case"
            );
        }
    }

    #[test]
    fn pricing_errors_keep_the_codes_the_protocol_gives_them() {
        let errors = [
            PricingError::EmptyCart,
            PricingError::TooManyLines { count: 2, max: 1 },
            PricingError::InvalidQuantity {
                line: 1,
                quantity: 0,
            },
            PricingError::InvalidPrice { line: 1, price: -1 },
            PricingError::InvalidTaxRate {
                line: 1,
                rate_bp: 20_000,
            },
            PricingError::InvalidDiscount("x".into()),
            PricingError::Overflow,
        ];
        for e in &errors {
            assert_eq!(
                ErrorCode::from(e),
                e.code(),
                "the server sends the same code"
            );
        }
    }
}
