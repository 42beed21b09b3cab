//! `till-server stats`: whether every terminal's work arrived exactly once, from the rows a
//! backend counted.

use uuid::Uuid;

use crate::storage::{Stats, TerminalRecord, TerminalStats};

/// Listed at most this many missing numbers per terminal in stats; the counts cover all.
const MAX_LISTED_GAPS: usize = 100;

/// What a backend counted for one terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRows {
    pub terminal: TerminalRecord,
    /// Sales stored.
    pub sales: i64,
    /// Voids and refunds stored.
    pub reversals: i64,
    pub sales_total: i64,
    pub reversals_total: i64,
    /// Ticket mutations settled with another outcome than `applied` or `disputed`.
    pub refused: i64,
    /// Its disputed reversals (stored and counted), and how many of them no manager settled yet.
    pub disputed: i64,
    pub open_disputes: i64,
    /// The distinct ticket numbers its mutations carried, ascending.
    pub ticket_numbers: Vec<u64>,
    /// The highest ticket number a recovered mutation carried (0: none): the numbers up to it
    /// continue the terminal the till was first enrolled as.
    pub recovered_up_to: u64,
    /// The sequences of its settled mutations, ascending.
    pub seqs: Vec<u64>,
}

/// What a backend counted, in one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    /// In enrolment order.
    pub terminals: Vec<TerminalRows>,
    /// Ticket ids carried by more than one settled mutation.
    pub duplicate_ticket_ids: Vec<Uuid>,
    /// (terminal, ticket number) pairs carried by more than one settled mutation.
    pub duplicate_ticket_numbers: Vec<(Uuid, u64)>,
    /// Stored tickets beyond the first sharing a (terminal, number).
    pub duplicate_rows: i64,
    pub mutations: i64,
}

/// The figures of `stats`: per terminal, and overall duplicates and gaps (both must be 0).
pub fn stats(rows: Rows) -> Stats {
    let count = |n: i64| n.max(0) as u64;
    let mut gaps = 0u64;
    let terminals: Vec<TerminalStats> = rows
        .terminals
        .into_iter()
        .map(|t| {
            let max_number = t.ticket_numbers.last().copied().unwrap_or(0);
            let (missing_tickets, missing_ticket_numbers) = missing_numbers(
                t.ticket_numbers.into_iter(),
                t.recovered_up_to + 1,
                max_number,
            );
            let (missing_seqs, missing_mutation_seqs) =
                missing_numbers(t.seqs.into_iter(), 1, t.terminal.last_seq);
            gaps += missing_tickets + missing_seqs;
            TerminalStats {
                terminal_id: t.terminal.id,
                name: t.terminal.name,
                last_seq: t.terminal.last_seq,
                sales: count(t.sales),
                reversals: count(t.reversals),
                tickets: count(t.sales) + count(t.reversals),
                total: t.sales_total - t.reversals_total,
                sales_total: t.sales_total,
                reversals_total: t.reversals_total,
                refused_ticket_mutations: count(t.refused),
                disputed_reversals: count(t.disputed),
                open_disputes: count(t.open_disputes),
                missing_ticket_numbers,
                missing_mutation_seqs,
            }
        })
        .collect();
    Stats {
        sales: terminals.iter().map(|t| t.sales).sum(),
        reversals: terminals.iter().map(|t| t.reversals).sum(),
        tickets: terminals.iter().map(|t| t.tickets).sum(),
        total: terminals.iter().map(|t| t.total).sum(),
        disputed_reversals: terminals.iter().map(|t| t.disputed_reversals).sum(),
        open_disputes: terminals.iter().map(|t| t.open_disputes).sum(),
        mutations: count(rows.mutations),
        duplicates: rows.duplicate_ticket_ids.len() as u64
            + rows.duplicate_ticket_numbers.len() as u64
            + count(rows.duplicate_rows),
        duplicate_ticket_ids: rows.duplicate_ticket_ids,
        duplicate_ticket_numbers: rows.duplicate_ticket_numbers,
        gaps,
        terminals,
    }
}

/// Numbers missing from `first..=max` given the sorted distinct numbers present (those below
/// `first` ignored): (count, first few).
pub fn missing_numbers(
    present: impl Iterator<Item = u64>,
    first: u64,
    max: u64,
) -> (u64, Vec<u64>) {
    let mut expected = first;
    let mut count = 0u64;
    let mut listed = Vec::new();
    let note = |from: u64, to: u64, count: &mut u64, listed: &mut Vec<u64>| {
        *count += to - from;
        let mut n = from;
        while n < to && listed.len() < MAX_LISTED_GAPS {
            listed.push(n);
            n += 1;
        }
    };
    for n in present {
        if n > expected {
            note(expected, n, &mut count, &mut listed);
        }
        expected = expected.max(n.saturating_add(1));
    }
    if max >= expected {
        note(expected, max.saturating_add(1), &mut count, &mut listed);
    }
    (count, listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal(last_seq: u64) -> TerminalRecord {
        TerminalRecord {
            id: Uuid::now_v7(),
            name: "till 1".into(),
            created_at_ms: 0,
            revoked_at_ms: None,
            last_seq,
            previous_token_expires_at_ms: None,
        }
    }

    fn rows(terminals: Vec<TerminalRows>) -> Rows {
        Rows {
            terminals,
            duplicate_ticket_ids: Vec::new(),
            duplicate_ticket_numbers: Vec::new(),
            duplicate_rows: 0,
            mutations: 0,
        }
    }

    #[test]
    fn missing_numbers_lists_holes_and_the_tail() {
        assert_eq!(
            missing_numbers([1, 2, 4, 7].into_iter(), 1, 7),
            (3, vec![3, 5, 6])
        );
        assert_eq!(missing_numbers([2].into_iter(), 1, 4), (3, vec![1, 3, 4]));
        assert_eq!(missing_numbers(std::iter::empty(), 1, 0), (0, vec![]));
        assert_eq!(
            missing_numbers([3, 5, 6, 8].into_iter(), 6, 9),
            (2, vec![7, 9]),
            "counted from the first number asked"
        );
    }

    #[test]
    fn missing_numbers_counts_all_but_lists_a_few() {
        let (count, listed) = missing_numbers([1000].into_iter(), 1, 1000);
        assert_eq!(count, 999);
        assert_eq!(listed.len(), MAX_LISTED_GAPS);
    }

    #[test]
    fn a_terminal_that_sent_everything_once_has_no_gaps_and_nets_its_reversals() {
        let stats = stats(Rows {
            mutations: 4,
            ..rows(vec![TerminalRows {
                terminal: terminal(4),
                sales: 3,
                reversals: 1,
                sales_total: 900,
                reversals_total: 200,
                refused: 1,
                disputed: 0,
                open_disputes: 0,
                ticket_numbers: vec![1, 2, 3, 4],
                recovered_up_to: 0,
                seqs: vec![1, 2, 3, 4],
            }])
        });
        assert_eq!(stats.gaps, 0);
        assert_eq!(stats.duplicates, 0);
        assert_eq!(
            (stats.sales, stats.reversals, stats.tickets),
            (3, 1, 4),
            "tickets are the sales and the voids and refunds, as a till counts them"
        );
        assert_eq!(stats.total, 700, "sales minus voids and refunds");
        assert_eq!(stats.mutations, 4);
        let t = &stats.terminals[0];
        assert_eq!((t.sales_total, t.reversals_total, t.total), (900, 200, 700));
        assert_eq!((t.sales, t.reversals, t.tickets), (3, 1, 4));
        assert_eq!(t.refused_ticket_mutations, 1);
    }

    #[test]
    fn disputed_reversals_are_counted_per_terminal_and_overall() {
        let till = |disputed, open_disputes| TerminalRows {
            terminal: terminal(0),
            sales: 1,
            reversals: disputed,
            sales_total: 500,
            reversals_total: 1000,
            refused: 0,
            disputed,
            open_disputes,
            ticket_numbers: vec![],
            recovered_up_to: 0,
            seqs: vec![],
        };
        let stats = stats(rows(vec![till(2, 1), till(1, 1)]));
        assert_eq!(
            (stats.disputed_reversals, stats.open_disputes),
            (3, 2),
            "a manager still has two to settle"
        );
        assert_eq!(stats.terminals[0].disputed_reversals, 2);
        assert_eq!(
            stats.terminals[0].total, -500,
            "a disputed reversal is counted: the cash left the drawer"
        );
    }

    #[test]
    fn gaps_add_missing_tickets_and_sequences_over_all_terminals() {
        let stats = stats(rows(vec![
            TerminalRows {
                terminal: terminal(5),
                sales: 2,
                reversals: 0,
                sales_total: 0,
                reversals_total: 0,
                refused: 0,
                disputed: 0,
                open_disputes: 0,
                ticket_numbers: vec![1, 3],
                recovered_up_to: 0,
                seqs: vec![1, 2, 5],
            },
            TerminalRows {
                terminal: terminal(2),
                sales: 0,
                reversals: 0,
                sales_total: 0,
                reversals_total: 0,
                refused: 0,
                disputed: 0,
                open_disputes: 0,
                ticket_numbers: vec![],
                recovered_up_to: 0,
                seqs: vec![],
            },
        ]));
        assert_eq!(stats.terminals[0].missing_ticket_numbers, vec![2]);
        assert_eq!(stats.terminals[0].missing_mutation_seqs, vec![3, 4]);
        assert_eq!(
            stats.terminals[1].missing_mutation_seqs,
            vec![1, 2],
            "a settled sequence with no mutation is a gap"
        );
        assert_eq!(stats.gaps, 5);
    }

    #[test]
    fn a_terminal_recovering_a_tills_history_counts_gaps_after_what_it_recovered() {
        let stats = stats(rows(vec![TerminalRows {
            terminal: terminal(5),
            sales: 5,
            reversals: 0,
            sales_total: 0,
            reversals_total: 0,
            refused: 0,
            disputed: 0,
            open_disputes: 0,
            ticket_numbers: vec![4, 6, 7, 9],
            recovered_up_to: 7,
            seqs: vec![1, 2, 3, 4, 5],
        }]));
        assert_eq!(
            stats.terminals[0].missing_ticket_numbers,
            vec![8],
            "the numbers it recovered continue another terminal's; its own must be gapless"
        );
        assert_eq!(stats.gaps, 1);
    }

    #[test]
    fn duplicates_count_ids_numbers_and_stored_rows() {
        let t = terminal(0);
        let stats = stats(Rows {
            duplicate_ticket_ids: vec![Uuid::now_v7(), Uuid::now_v7()],
            duplicate_ticket_numbers: vec![(t.id, 7)],
            duplicate_rows: 2,
            ..rows(vec![])
        });
        assert_eq!(stats.duplicates, 5, "every kind of duplicate counts");
    }
}
