//! The back office's side of the push chain ([`till_protocol::chain`]): each mutation that
//! settles at a terminal's next sequence must carry the link its body and the link accepted
//! before give, and must reach every head the terminal named before ([`ChainHeads::announce`])
//! with that very link. Anything else is a break: the whole push is refused
//! ([`till_protocol::chain::JOURNAL_BREAK`]) and nothing of it is recorded.
//!
//! Terminals that queued mutations before the chain existed, and data stored before it, have
//! no links: a terminal's chain begins at the first mutation with a link that settles (at
//! sequence 1 it must link from [`GENESIS`]; later it is taken as given), and from then on every
//! mutation must carry one.

use serde::Serialize;
use till_protocol::chain::{self, ChainHead, GENESIS};

/// A terminal's chain as the back office holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainHeads {
    /// The last link accepted; `None` until a mutation with a link settled.
    pub accepted: Option<ChainHead>,
    /// The lowest head the terminal named that the chain has not reached yet.
    pub announced: Option<ChainHead>,
}

/// Why a push breaks the terminal's chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the push chain breaks at sequence {seq}: {why}")]
pub struct Break {
    pub seq: u64,
    pub why: String,
}

fn broken(seq: u64, why: impl Into<String>) -> Break {
    Break {
        seq,
        why: why.into(),
    }
}

/// Whether `link` is a link at all (64 hex digits).
fn is_hash(link: &str) -> bool {
    chain::link(link, GENESIS).is_ok()
}

impl ChainHeads {
    /// Takes the mutation settling now at `seq` (the terminal's next sequence), of content
    /// `content`, carrying `link`: the link to record with it (`None` for a mutation without
    /// one before the chain began), or the break.
    pub fn settle(
        &mut self,
        seq: u64,
        link: Option<&str>,
        content: &str,
    ) -> Result<Option<String>, Break> {
        let reached = self.announced.take_if(|head| head.seq == seq);
        let Some(given) = link else {
            if self.accepted.is_some() {
                return Err(broken(
                    seq,
                    "the mutation carries no link, but this terminal's chain has begun",
                ));
            }
            if reached.is_some() {
                return Err(broken(
                    seq,
                    "the mutation carries no link, but the terminal named a link there",
                ));
            }
            return Ok(None);
        };
        let prev = match &self.accepted {
            Some(accepted) => Some(accepted.link.as_str()),
            None if seq == 1 => Some(GENESIS),
            // The first link after mutations without one: its anchor, taken as given.
            None => None,
        };
        match prev {
            Some(prev) => {
                let expected =
                    chain::link(prev, content).map_err(|e| broken(seq, e.to_string()))?;
                if expected != given {
                    return Err(broken(
                        seq,
                        "the mutation's link does not follow from the link accepted before it \
                         and its content (a queued mutation changed after it was linked?)",
                    ));
                }
            }
            None if !is_hash(given) => {
                return Err(broken(seq, "the mutation's link is not a SHA-256 in hex"));
            }
            None => {}
        }
        if reached.is_some_and(|head| head.link != given) {
            return Err(broken(
                seq,
                "the mutation's link is not the one the terminal named for this sequence before \
                 (a queued mutation changed since?)",
            ));
        }
        self.accepted = Some(ChainHead {
            seq,
            link: given.to_string(),
        });
        Ok(Some(given.to_string()))
    }

    /// Takes the head a push named ([`till_protocol::PushRequest::head`]), after its batch
    /// settled. A head at the accepted sequence must be the accepted link. A head beyond it is
    /// kept until the chain reaches it, unless a lower one is kept already: a kept head is never
    /// replaced before it is reached, so a terminal cannot take back what it named. Naming
    /// another link at the kept head's sequence is a break too.
    pub fn announce(&mut self, head: &ChainHead) -> Result<(), Break> {
        if let Some(accepted) = &self.accepted {
            if head.seq == accepted.seq && head.link != accepted.link {
                return Err(broken(
                    head.seq,
                    "the terminal names another link than the one accepted there",
                ));
            }
            if head.seq <= accepted.seq {
                return Ok(());
            }
        }
        if !is_hash(&head.link) {
            return Err(broken(head.seq, "the head named is not a SHA-256 in hex"));
        }
        match &self.announced {
            None => self.announced = Some(head.clone()),
            Some(kept) if kept.seq == head.seq && kept.link != head.link => {
                return Err(broken(
                    head.seq,
                    "the terminal names another link than the one it named there before",
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }
}

/// One link the back office stored: its mutation's sequence, the content and link recorded
/// with it, and its content recomputed from what the back office stores of it (a ticket's body),
/// when it stores something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub seq: u64,
    pub content: String,
    pub link: String,
    pub recomputed: Option<String>,
}

/// A terminal's stored chain: its links in sequence order and the head accepted last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredChain {
    pub links: Vec<StoredLink>,
    pub accepted: Option<ChainHead>,
}

/// The first stored link that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredBreak {
    pub seq: u64,
    pub why: String,
}

/// What `till-server verify-journal` found of a terminal's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainVerification {
    pub ok: bool,
    /// Links checked before the first break (all of them when the chain holds).
    pub checked: u64,
    /// The last link checked.
    pub head: Option<ChainHead>,
    /// The head the back office accepted last.
    pub accepted: Option<ChainHead>,
    pub first_break: Option<StoredBreak>,
}

/// Recomputes a stored chain: consecutive sequences from its first link (from [`GENESIS`] at
/// sequence 1, else its anchor, taken as given), each link from the one before and its recorded
/// content, each recorded content the one recomputed from what is stored, and the last link the
/// head accepted.
pub fn verify(chain: &StoredChain) -> ChainVerification {
    let mut checked = 0;
    let mut head: Option<ChainHead> = None;
    let mut first_break = None;
    for stored in &chain.links {
        let prev = match &head {
            Some(h) => Some(h.link.as_str()),
            None if stored.seq == 1 => Some(GENESIS),
            None => None,
        };
        let fault = if head.as_ref().is_some_and(|h| h.seq + 1 != stored.seq) {
            Some("the chain skips a sequence before it")
        } else if stored
            .recomputed
            .as_ref()
            .is_some_and(|now| *now != stored.content)
        {
            Some("its stored ticket no longer gives the content recorded with its link")
        } else if prev
            .is_some_and(|p| chain::link(p, &stored.content).ok().as_ref() != Some(&stored.link))
        {
            Some("its link does not follow from the link before and its content")
        } else {
            None
        };
        if let Some(why) = fault {
            first_break = Some(StoredBreak {
                seq: stored.seq,
                why: why.to_string(),
            });
            break;
        }
        checked += 1;
        head = Some(ChainHead {
            seq: stored.seq,
            link: stored.link.clone(),
        });
    }
    if first_break.is_none() && head != chain.accepted {
        first_break = Some(StoredBreak {
            seq: chain.accepted.as_ref().map_or(0, |a| a.seq),
            why: "the head accepted is not the last stored link".to_string(),
        });
    }
    ChainVerification {
        ok: first_break.is_none(),
        checked,
        head,
        accepted: chain.accepted.clone(),
        first_break,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: u8) -> String {
        hex::encode([n; 32])
    }

    /// The honest links of contents 1..=n, from GENESIS.
    fn links(n: u8) -> Vec<String> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|i| {
                prev = chain::link(&prev, &content(i)).expect("hex");
                prev.clone()
            })
            .collect()
    }

    fn head(seq: u64, link: &str) -> ChainHead {
        ChainHead {
            seq,
            link: link.to_string(),
        }
    }

    #[test]
    fn an_honest_chain_settles_link_by_link() {
        let links = links(3);
        let mut heads = ChainHeads::default();
        for (i, link) in links.iter().enumerate() {
            let seq = i as u64 + 1;
            let kept = heads.settle(seq, Some(link), &content(seq as u8));
            assert_eq!(kept, Ok(Some(link.clone())), "link {seq} follows");
        }
        assert_eq!(heads.accepted, Some(head(3, &links[2])));
    }

    #[test]
    fn a_link_that_does_not_follow_from_the_accepted_one_breaks() {
        let links = links(2);
        let mut heads = ChainHeads {
            accepted: Some(head(1, &links[0])),
            announced: None,
        };
        let changed = heads.settle(2, Some(&links[1]), &content(9));
        assert_eq!(
            changed.map_err(|b| b.seq),
            Err(2),
            "another content, same link"
        );
        assert_eq!(heads.accepted, Some(head(1, &links[0])));
    }

    #[test]
    fn the_first_mutation_links_from_genesis() {
        let mut heads = ChainHeads::default();
        let made_up = content(7);
        assert!(heads.settle(1, Some(&made_up), &content(1)).is_err());
    }

    #[test]
    fn mutations_without_links_settle_until_the_chain_begins_then_break_it() {
        let mut heads = ChainHeads::default();
        assert_eq!(
            heads.settle(1, None, &content(1)),
            Ok(None),
            "an older till"
        );
        let anchor = content(5);
        assert_eq!(
            heads.settle(2, Some(&anchor), &content(2)),
            Ok(Some(anchor.clone())),
            "the first link after unlinked mutations is taken as given"
        );
        let missing = heads.settle(3, None, &content(3));
        assert_eq!(
            missing.map_err(|b| b.seq),
            Err(3),
            "no link once the chain began"
        );
        assert!(
            ChainHeads::default()
                .settle(2, Some("not hex"), &content(2))
                .is_err(),
            "an anchor is a hash"
        );
    }

    #[test]
    fn a_named_head_must_be_reached_with_its_link() {
        let honest = links(3);
        let mut heads = ChainHeads::default();
        heads
            .settle(1, Some(&honest[0]), &content(1))
            .expect("links");
        heads.announce(&head(3, &honest[2])).expect("kept");
        // A changed mutation 2, with every link after it recomputed: each link follows.
        let l2 = chain::link(&honest[0], &content(8)).expect("hex");
        let l3 = chain::link(&l2, &content(3)).expect("hex");
        heads.settle(2, Some(&l2), &content(8)).expect("follows");
        let at_3 = heads.settle(3, Some(&l3), &content(3));
        assert_eq!(
            at_3.map_err(|b| b.seq),
            Err(3),
            "the head named before is not reached"
        );
    }

    #[test]
    fn a_named_head_reached_with_its_link_is_let_go() {
        let honest = links(2);
        let mut heads = ChainHeads::default();
        heads.announce(&head(2, &honest[1])).expect("kept");
        heads
            .settle(1, Some(&honest[0]), &content(1))
            .expect("links");
        heads
            .settle(2, Some(&honest[1]), &content(2))
            .expect("reached");
        assert_eq!(heads.announced, None, "reached");
    }

    #[test]
    fn a_kept_head_is_never_replaced_before_it_is_reached() {
        let honest = links(3);
        let mut heads = ChainHeads::default();
        heads.announce(&head(2, &honest[1])).expect("kept");
        heads.announce(&head(3, &honest[2])).expect("a later head");
        assert_eq!(
            heads.announced,
            Some(head(2, &honest[1])),
            "the lowest stays"
        );
        let renamed = heads.announce(&head(2, &content(4)));
        assert_eq!(
            renamed.map_err(|b| b.seq),
            Err(2),
            "another link at the kept sequence"
        );
    }

    #[test]
    fn a_head_at_the_accepted_sequence_must_be_the_accepted_link() {
        let honest = links(1);
        let mut heads = ChainHeads {
            accepted: Some(head(1, &honest[0])),
            announced: None,
        };
        assert_eq!(heads.announce(&head(1, &honest[0])), Ok(()));
        assert!(heads.announce(&head(1, &content(1))).is_err());
        assert_eq!(
            heads.announced, None,
            "nothing beyond the accepted head to keep"
        );
    }

    fn stored(n: u8) -> StoredChain {
        let links = links(n);
        StoredChain {
            accepted: links.last().map(|l| head(u64::from(n), l)),
            links: links
                .into_iter()
                .enumerate()
                .map(|(i, link)| StoredLink {
                    seq: i as u64 + 1,
                    content: content(i as u8 + 1),
                    link,
                    recomputed: Some(content(i as u8 + 1)),
                })
                .collect(),
        }
    }

    #[test]
    fn a_stored_chain_holds_up_to_the_head_accepted() {
        let v = verify(&stored(3));
        assert!(v.ok, "{v:?}");
        assert_eq!((v.checked, v.head.map(|h| h.seq)), (3, Some(3)));
        assert!(verify(&StoredChain::default()).ok, "no chain yet holds");
    }

    #[test]
    fn a_stored_ticket_changed_breaks_the_chain_at_its_link() {
        let mut chain = stored(3);
        chain.links[1].recomputed = Some(content(9));
        let v = verify(&chain);
        assert_eq!((v.ok, v.checked), (false, 1));
        assert_eq!(v.first_break.map(|b| b.seq), Some(2));
    }

    #[test]
    fn a_content_rewritten_with_its_ticket_breaks_the_link() {
        let mut chain = stored(3);
        chain.links[2].content = content(9);
        chain.links[2].recomputed = Some(content(9));
        assert_eq!(verify(&chain).first_break.map(|b| b.seq), Some(3));
    }

    #[test]
    fn a_chain_anchored_later_starts_at_its_anchor() {
        let mut chain = stored(3);
        chain.links.remove(0);
        assert!(verify(&chain).ok, "the anchor is taken as given");
    }

    #[test]
    fn a_missing_link_breaks_the_chain() {
        let mut chain = stored(3);
        chain.links.remove(1);
        assert_eq!(verify(&chain).first_break.map(|b| b.seq), Some(3));
    }

    #[test]
    fn a_head_accepted_beyond_the_stored_links_breaks_the_chain() {
        let mut chain = stored(2);
        chain.accepted = Some(head(3, &content(3)));
        assert!(!verify(&chain).ok);
    }
}
