//! The sales report over the tickets both backends hold: the range of days it reads, and the
//! same total whichever way it groups them.

#[macro_use]
mod common;

use common::*;
use till_protocol::{MutationBody, TicketKind};
use till_server::dates::Day;
use till_server::decide::reports::GroupBy;
use till_server::sample;

fn day(text: &str) -> Day {
    Day::parse(text).expect("a date")
}

on_both_backends!(a_sales_report_reads_the_days_asked_and_adds_up_alike_in_every_grouping);
async fn a_sales_report_reads_the_days_asked_and_adds_up_alike_in_every_grouping() {
    let server = TestServer::start().await;
    let till = server.enrol("till A").await;
    let ada = sample::operator("Ada");
    let opened = sample::shift_opened(1, 0, &ada);
    let mut sale = sample::sale(1);
    sale.operator = Some(ada.clone());
    sale.shift_id = Some(opened.shift_id);
    let refund = sample::part_refund(&sale, 2, &[1, 0, 0, 0, 0]);
    let mut later = sample::sale(3);
    later.created_at_ms += 86_400_000;
    let batch = [
        sample::mutation(1, MutationBody::ShiftOpened(opened.clone())),
        sample::mutation(2, MutationBody::TicketCreated(sale.clone())),
        sample::mutation(3, MutationBody::TicketRefunded(refund.clone())),
        sample::mutation(4, MutationBody::TicketCreated(later.clone())),
    ];
    server.push_current(&till, &batch).await;
    assert_eq!(refund.kind, TicketKind::Refund);

    let first_day = day("2023-11-14");
    for by in GroupBy::ALL {
        let report = server
            .storage
            .sales_report(first_day, first_day, by)
            .await
            .expect("a report");
        assert_eq!(report.total.tickets, 2, "the next day's sale is left out");
        assert_eq!(
            report.total.gross,
            sale.totals.subtotal,
            "by {}",
            by.as_str()
        );
        assert_eq!(report.total.refunds, refund.totals.total);
        assert_eq!(
            report.total.net,
            sale.totals.total - refund.totals.total,
            "by {}",
            by.as_str()
        );
    }
    let by_shift = server
        .storage
        .sales_report(first_day, first_day, GroupBy::Shift)
        .await
        .expect("a report");
    assert_eq!(by_shift.rows[0].group, opened.shift_id.to_string());
    assert_eq!(
        by_shift.rows[0].name, "Z1",
        "the shift's Z number, from its opening"
    );
    let by_terminal = server
        .storage
        .sales_report(first_day, day("2023-11-15"), GroupBy::Terminal)
        .await
        .expect("a report");
    assert_eq!(by_terminal.rows.len(), 1);
    assert_eq!(by_terminal.rows[0].name, "till A");
    assert_eq!(by_terminal.rows[0].figures.tickets, 3, "both days");
    server.stop().await;
}
