// The keyboard map of the till. One pure function from a key press to an action, so the map is
// tested without a DOM and shown on screen from the same table.

export type Action =
  | "focus_search"
  | "ticket_discount"
  | "pay"
  | "line_discount"
  | "clear_sale"
  | "sync_now"
  | "cancel"
  | "select_prev"
  | "select_next"
  | "qty_up"
  | "qty_down"
  | "remove_line"
  | "help"
  | "lock"
  | `tab_${number}`;

export type KeyPress = {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  /** Focus is in a text field, where printable keys belong to the field. */
  inTextField: boolean;
  /**
   * Focus is in a field where the sale's keys act while it is empty (the register's search):
   * nothing typed there yet, so +, −, Delete and ? cannot be the start of a search.
   */
  saleKeysField?: boolean;
};

/** Function keys act everywhere, even inside a text field. */
const FUNCTION_KEYS: Record<string, Action> = {
  F1: "help",
  F2: "focus_search",
  F3: "ticket_discount",
  F4: "pay",
  F6: "line_discount",
  F8: "clear_sale",
  F9: "sync_now",
  F12: "lock",
  Escape: "cancel",
};

/** Keys that act on the sale when no text field has the focus, or the empty search field has. */
const CART_KEYS: Record<string, Action> = {
  "+": "qty_up",
  "-": "qty_down",
  "−": "qty_down",
  Delete: "remove_line",
  "?": "help",
};

export const SHORTCUT_HELP: Array<{ keys: string; what: string }> = [
  { keys: "F1 or ?", what: "These shortcuts" },
  { keys: "F2", what: "Search / scan" },
  { keys: "Enter", what: "Add the exact match, else the highlighted result" },
  { keys: "↑ ↓ in the search", what: "Move the highlight through the results" },
  { keys: "F3", what: "Ticket discount" },
  { keys: "F4", what: "Pay" },
  { keys: "F6", what: "Line discount" },
  { keys: "F8", what: "Clear sale" },
  { keys: "F9", what: "Sync now" },
  { keys: "F12", what: "Lock the till (the sale stays)" },
  { keys: "↑ ↓", what: "Select cart line (search empty), ticket (Tickets)" },
  { keys: "+ −", what: "Quantity of the selected line" },
  { keys: "Del", what: "Remove the selected line" },
  { keys: "Tab", what: "Next button; stays inside an open dialog" },
  { keys: "Esc", what: "Cancel, close the dialog" },
  { keys: "Alt+1…8", what: "Switch screen" },
];

export function actionFor(k: KeyPress): Action | null {
  if (k.ctrlKey || k.metaKey) return null;
  if (k.altKey) {
    return /^[1-9]$/.test(k.key) ? `tab_${Number(k.key)}` : null;
  }
  const fn = FUNCTION_KEYS[k.key];
  if (fn) return fn;
  if (k.key === "ArrowUp") return "select_prev";
  if (k.key === "ArrowDown") return "select_next";
  if (k.inTextField && !k.saleKeysField) return null;
  return CART_KEYS[k.key] ?? null;
}

/** Marks the register's search field: while it is empty, the sale's keys act in it. */
export const SALE_KEYS_ATTRIBUTE = "data-sale-keys";

/** Whether `el` is an empty field where the sale's keys act. */
export function saleKeysField(el: Element | null): boolean {
  return el instanceof HTMLInputElement && el.hasAttribute(SALE_KEYS_ATTRIBUTE) && el.value === "";
}

/** Whether an element takes typed text (so printable shortcuts must leave it alone). */
export function isTextField(el: Element | null): boolean {
  if (!el) return false;
  if (el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement) return true;
  if (el instanceof HTMLInputElement) {
    return !["button", "checkbox", "radio", "submit", "reset", "range"].includes(el.type);
  }
  return (el as HTMLElement).isContentEditable === true;
}
