// The sale being rung up: products, quantities and discounts as the cashier entered them, and the
// core's quote for them. Every figure shown comes from the quote; this holds no money arithmetic.
import { api, toAppError } from "../../lib/api";
import type { Cart } from "../../lib/bindings/Cart";
import type { Discount } from "../../lib/bindings/Discount";
import type { ProductView } from "../../lib/bindings/ProductView";
import type { Quote } from "../../lib/bindings/Quote";

/** Most of one product on a line, as the core allows. */
export const MAX_QUANTITY = 9999;

export type SaleLine = { product: ProductView; quantity: number; discount: Discount | null };

export class Sale {
  lines = $state<SaleLine[]>([]);
  ticketDiscount = $state<Discount | null>(null);
  customerId = $state<string | null>(null);
  /** Shown on the register next to the sale; the core only needs the id. */
  customerName = $state<string | null>(null);
  selected = $state(-1);
  quote = $state<Quote | null>(null);
  quoteError = $state<string | null>(null);
  quoting = $state(false);
  private asked = 0;

  cart(): Cart {
    return {
      lines: this.lines.map((l) => ({ product_id: l.product.id, quantity: l.quantity, discount: l.discount })),
      ticket_discount: this.ticketDiscount,
      customer_id: this.customerId,
    };
  }

  /** Adds one of a product: a second scan of the same product raises the quantity. */
  add(product: ProductView): void {
    const at = this.lines.findIndex((l) => l.product.id === product.id && l.discount === null);
    if (at >= 0) {
      this.setQuantity(at, this.lines[at].quantity + 1);
      this.selected = at;
    } else {
      this.lines.push({ product, quantity: 1, discount: null });
      this.selected = this.lines.length - 1;
    }
  }

  setQuantity(index: number, quantity: number): void {
    const line = this.lines[index];
    if (!line || !Number.isInteger(quantity)) return;
    if (quantity <= 0) this.remove(index);
    else line.quantity = Math.min(quantity, MAX_QUANTITY);
  }

  remove(index: number): void {
    if (index < 0 || index >= this.lines.length) return;
    this.lines.splice(index, 1);
    this.selected = Math.min(this.selected, this.lines.length - 1);
  }

  select(delta: number): void {
    if (this.lines.length === 0) return;
    const from = this.selected < 0 ? (delta > 0 ? -1 : this.lines.length) : this.selected;
    this.selected = Math.max(0, Math.min(this.lines.length - 1, from + delta));
  }

  clear(): void {
    this.lines = [];
    this.ticketDiscount = null;
    this.customerId = null;
    this.customerName = null;
    this.selected = -1;
    this.quote = null;
    this.quoteError = null;
  }

  /** Asks the core for a fresh quote; answers to older requests are dropped. */
  async requote(): Promise<void> {
    const id = ++this.asked;
    if (this.lines.length === 0) {
      this.quote = null;
      this.quoteError = null;
      this.quoting = false;
      return;
    }
    const cart = this.cart();
    this.quoting = true;
    try {
      const q = await api.quote(cart);
      if (id !== this.asked) return;
      this.quote = q;
      this.quoteError = null;
    } catch (err) {
      if (id !== this.asked) return;
      this.quote = null;
      this.quoteError = toAppError(err).message;
    } finally {
      if (id === this.asked) this.quoting = false;
    }
  }
}

/** The register's sale; module-level so it survives switching screens. */
export const registerSale = new Sale();
