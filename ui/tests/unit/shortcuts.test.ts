import { describe, expect, it } from "vitest";
import { actionFor, isTextField, type KeyPress } from "../../src/lib/shortcuts";

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
