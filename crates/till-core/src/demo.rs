//! Valid demo tickets for `tillctl ring-up --demo` and the benchmarks: a few active products,
//! sometimes a discount, paid by cash or card. Deterministic for a given seed.

use till_protocol::pricing::Discount;
use till_protocol::Product;

use crate::cart::{Cart, CartLine};
use crate::tender::TenderInput;

/// A small deterministic generator (SplitMix64), so demo runs repeat exactly for a seed.
#[derive(Debug, Clone)]
pub struct DemoRng(u64);

impl DemoRng {
    pub fn new(seed: u64) -> Self {
        DemoRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A cart of `lines` random products from `products` (which must not be empty), sometimes with
/// a line or ticket discount.
pub fn cart(rng: &mut DemoRng, products: &[Product], lines: usize) -> Cart {
    let mut cart = Cart {
        lines: Vec::with_capacity(lines),
        ticket_discount: None,
        customer_id: None,
    };
    if products.is_empty() {
        return cart;
    }
    for _ in 0..lines {
        let p = &products[rng.below(products.len() as u64) as usize];
        let discount = match rng.below(10) {
            0 => Some(Discount::Percent { bp: 1000 }),
            _ => None,
        };
        cart.lines.push(CartLine {
            product_id: p.id,
            quantity: 1 + rng.below(3) as i64,
            discount,
            unit_price: None,
        });
    }
    if rng.below(8) == 0 {
        cart.ticket_discount = Some(Discount::Percent { bp: 500 });
    }
    cart
}

/// Tenders that pay `total`: cash rounded up to the next 5 or 10 units, or a card approval.
pub fn tenders(rng: &mut DemoRng, total: i64) -> Vec<TenderInput> {
    if total == 0 {
        return Vec::new();
    }
    if rng.below(2) == 0 {
        let step = if rng.below(2) == 0 { 500 } else { 1000 };
        vec![TenderInput::Cash {
            tendered: (total + step - 1) / step * step,
        }]
    } else {
        vec![TenderInput::Card {
            amount: total,
            approval_ref: format!("DEMO{:06}", rng.below(1_000_000)),
            last4: Some(format!("{:04}", rng.below(10_000))),
        }]
    }
}
