import { describe, expect, it } from "vitest";
import { actionFor, isTextField, saleKeysField, SALE_KEYS_ATTRIBUTE, type KeyPress } from "../../src/lib/shortcuts";

const key = (k: string, over: Partial<KeyPress> = {}): KeyPress => ({
  key: k, altKey: false, ctrlKey: false, metaKey: false, inTextField: false, ...over,
});

describe("keyboard map", () => {
  it("maps the function keys of the till", () => {
    expect(actionFor(key("F2"))).toBe("focus_search");
    expect(actionFor(key("F3"))).toBe("ticket_discount");
    expect(actionFor(key("F4"))).toBe("pay");
    expect(actionFor(key("F6"))).toBe("line_discount");
    expect(actionFor(key("F8"))).toBe("clear_sale");
    expect(actionFor(key("F9"))).toBe("sync_now");
    expect(actionFor(key("F12"))).toBe("lock");
    expect(actionFor(key("Escape"))).toBe("cancel");
  });

  it("keeps function keys working while typing in the search field", () => {
    expect(actionFor(key("F4", { inTextField: true }))).toBe("pay");
    expect(actionFor(key("Escape", { inTextField: true }))).toBe("cancel");
  });

  it("leaves printable keys to text fields", () => {
    expect(actionFor(key("+"))).toBe("qty_up");
    expect(actionFor(key("-"))).toBe("qty_down");
    expect(actionFor(key("Delete"))).toBe("remove_line");
    expect(actionFor(key("+", { inTextField: true }))).toBeNull();
    expect(actionFor(key("Delete", { inTextField: true }))).toBeNull();
    expect(actionFor(key("a"))).toBeNull();
  });

  it("lets +, −, Delete and ? act on the sale in the empty search field, never in typed text", () => {
    const empty = { inTextField: true, saleKeysField: true };
    expect(actionFor(key("+", empty))).toBe("qty_up");
    expect(actionFor(key("-", empty))).toBe("qty_down");
    expect(actionFor(key("Delete", empty))).toBe("remove_line");
    expect(actionFor(key("?", empty))).toBe("help");
    expect(actionFor(key("a", empty)), "letters start a search").toBeNull();
    expect(actionFor(key("-", { inTextField: true })), "a dash in a SKU being typed").toBeNull();
  });

  it("shows the shortcuts on F1 anywhere and on ? outside text", () => {
    expect(actionFor(key("F1", { inTextField: true }))).toBe("help");
    expect(actionFor(key("?"))).toBe("help");
    expect(actionFor(key("?", { inTextField: true }))).toBeNull();
  });

  it("switches screens with Alt and a digit, and leaves Ctrl shortcuts to the system", () => {
    expect(actionFor(key("1", { altKey: true }))).toBe("tab_1");
    expect(actionFor(key("7", { altKey: true }))).toBe("tab_7");
    expect(actionFor(key("x", { altKey: true }))).toBeNull();
    expect(actionFor(key("F4", { ctrlKey: true }))).toBeNull();
  });

  it("moves the cart selection with the arrow keys", () => {
    expect(actionFor(key("ArrowUp", { inTextField: true }))).toBe("select_prev");
    expect(actionFor(key("ArrowDown"))).toBe("select_next");
  });
});

describe("saleKeysField", () => {
  it("is the marked field, only while it is empty", () => {
    const search = document.createElement("input");
    search.setAttribute(SALE_KEYS_ATTRIBUTE, "");
    expect(saleKeysField(search)).toBe(true);
    search.value = "PAN-";
    expect(saleKeysField(search)).toBe(false);
    expect(saleKeysField(document.createElement("input")), "any other field").toBe(false);
    expect(saleKeysField(null)).toBe(false);
  });
});

describe("isTextField", () => {
  it("tells text inputs from buttons and checkboxes", () => {
    const text = document.createElement("input");
    const box = document.createElement("input");
    box.type = "checkbox";
    expect(isTextField(text)).toBe(true);
    expect(isTextField(document.createElement("textarea"))).toBe(true);
    expect(isTextField(box)).toBe(false);
    expect(isTextField(document.createElement("button"))).toBe(false);
    expect(isTextField(null)).toBe(false);
  });
});
