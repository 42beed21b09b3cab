// The sale being rung up: products, quantities and discounts as the cashier entered them, and the
// core's quote for them. Every figure shown comes from the quote; this holds no money arithmetic.
// The sale is saved in the store on every change (in order), so a crash or a restart of the app
// brings it back; parking sets it aside there and recalling brings one back.
import { api, toAppError } from "../../lib/api";
import type { Cart } from "../../lib/bindings/Cart";
import type { Discount } from "../../lib/bindings/Discount";
import type { ParkedSale } from "../../lib/bindings/ParkedSale";
import type { RestoredSale } from "../../lib/bindings/RestoredSale";
import type { SaleDraft } from "../../lib/bindings/SaleDraft";
import type { ProductView } from "../../lib/bindings/ProductView";
import type { Quote } from "../../lib/bindings/Quote";

/** Most of one product on a line, as the core allows. */
export const MAX_QUANTITY = 9999;

export type SaleLine = {
  product: ProductView;
  quantity: number;
  discount: Discount | null;
  /** A price a manager approved in place of the catalog's, in minor units. */
  unitPrice: number | null;
};

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
  /** Whether the saved sale was read back: nothing is saved before, so it is never overwritten. */
  loaded = $state(false);
  private saved: Promise<unknown> = Promise.resolve();
  /** The draft last sent to be saved, as JSON: an unchanged sale is not saved again. */
  private lastSaved = "";

  cart(): Cart {
    return {
      lines: this.lines.map((l) => ({
        product_id: l.product.id,
        quantity: l.quantity,
        discount: l.discount,
        unit_price: l.unitPrice,
      })),
      ticket_discount: this.ticketDiscount,
      customer_id: this.customerId,
    };
  }

  draft(): SaleDraft {
    return { cart: this.cart(), customer_name: this.customerName };
  }

  /** Puts a sale brought back from the store on the register. */
  restore(r: RestoredSale): void {
    this.clear();
    this.lines = r.lines.map((l) => ({
      product: l.product,
      quantity: l.quantity,
      discount: l.discount,
      unitPrice: l.unit_price,
    }));
    this.ticketDiscount = r.ticket_discount;
    this.customerId = r.customer_id;
    this.customerName = r.customer_name;
  }

  /**
   * Reads the sale in progress saved before a restart, once. Resolves with how many lines were
   * left out (their product left the catalog).
   */
  async load(): Promise<number> {
    if (this.loaded) return 0;
    try {
      const r = await api.currentSale();
      if (r && this.lines.length === 0) this.restore(r);
      return r?.dropped_lines ?? 0;
    } finally {
      this.lastSaved = JSON.stringify(this.draft());
      this.loaded = true;
    }
  }

  /** Saves the sale as it is now; saves run one after another, so the last one wins. */
  save(): Promise<unknown> {
    if (!this.loaded) return this.saved;
    const draft = this.draft();
    const json = JSON.stringify(draft);
    if (json === this.lastSaved) return this.saved;
    this.lastSaved = json;
    this.saved = this.saved.then(() => api.saveCurrentSale(draft)).catch((err) => console.warn("the sale in progress was not saved", err));
    return this.saved;
  }

  /** Parks the sale under `label` and empties the register. */
  async park(label: string): Promise<ParkedSale> {
    await this.saved;
    const parked = await api.parkSale(this.draft(), label);
    this.clear();
    return parked;
  }

  /** Brings a parked sale back; the register must be empty. */
  async recall(id: string): Promise<RestoredSale> {
    await this.saved;
    const r = await api.recallSale(id);
    this.restore(r);
    return r;
  }

  /** Adds one of a product: a second scan of the same product raises the quantity of its plain line. */
  add(product: ProductView): void {
    const at = this.lines.findIndex((l) => l.product.id === product.id && l.discount === null && l.unitPrice === null);
    if (at >= 0) {
      this.setQuantity(at, this.lines[at].quantity + 1);
      this.selected = at;
    } else {
      this.lines.push({ product, quantity: 1, discount: null, unitPrice: null });
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
