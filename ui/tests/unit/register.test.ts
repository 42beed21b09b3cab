import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import App from "../../src/App.svelte";

describe("Register, from the keyboard alone", () => {
  it("searches, adds, pays cash and shows the receipt without touching the mouse", async () => {
    // A person types a key every ~80 ms; a burst of keys within a few ms would be a scanner.
    // Typing at a person's speed takes a few seconds by itself: the budget leaves room for a
    // loaded machine.
    const user = userEvent.setup({ delay: 80 });
    render(App);
    const search = await screen.findByTestId("product-search");
    await waitFor(() => expect(document.activeElement, "the search field has the focus on start").toBe(search));

    await user.type(search, "croissant");
    await screen.findByTestId("product-BAK-002");
    await waitFor(() => expect(screen.queryByTestId("product-BAK-001")).toBeNull());
    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.getAllByTestId("cart-line")).toHaveLength(1));

    // A full barcode typed (or scanned) into the search field adds its product.
    await user.type(search, "5012345679020{Enter}");
    await waitFor(() => expect(screen.getAllByTestId("cart-line")).toHaveLength(2));
    await waitFor(() => expect(screen.getByTestId("grand-total").textContent).toBe("£4.85"));

    await user.keyboard("{F4}");
    const cash = await screen.findByTestId("cash-tendered");
    await waitFor(() => expect(document.activeElement).toBe(cash));
    await user.keyboard("10");
    await waitFor(() => expect(screen.getByTestId("change-due").textContent).toBe("£5.15"));
    await user.keyboard("{Enter}");

    const receipt = await screen.findByTestId("receipt");
    expect(receipt.textContent).toMatch(/Butter croissant/);
    expect(screen.getByTestId("receipt-total").textContent).toBe("£4.85");
    expect(screen.getByTestId("final-change").textContent).toBe("£5.15");

    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("receipt")).toBeNull());
    expect(screen.getByTestId("cart-empty")).toBeTruthy();
  }, 15_000);

  it("edits quantities with + and − on the selected line and removes it with Delete", async () => {
    render(App);
    const tile = await screen.findByTestId("product-DRK-004");
    await fireEvent.click(tile);
    await waitFor(() => expect(screen.getAllByTestId("cart-line")).toHaveLength(1));
    (document.activeElement as HTMLElement | null)?.blur();
    await fireEvent.keyDown(document, { key: "+" });
    await fireEvent.keyDown(document, { key: "+" });
    await waitFor(() => expect((screen.getByTestId("qty") as HTMLInputElement).value).toBe("3"));
    await fireEvent.keyDown(document, { key: "-" });
    await waitFor(() => expect((screen.getByTestId("qty") as HTMLInputElement).value).toBe("2"));
    await fireEvent.keyDown(document, { key: "Delete" });
    await waitFor(() => expect(screen.queryAllByTestId("cart-line")).toHaveLength(0));
  });
});
