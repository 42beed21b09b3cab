import { describe, expect, it } from "vitest";
import { Sale } from "../../src/components/register/sale.svelte";
import { api } from "../../src/lib/api";

type Mock = { db: { currentSale: unknown }; calls: Array<{ cmd: string; args: Record<string, unknown> }> };
const mock = () => (window as unknown as { __mock: Mock }).__mock;
const saves = () => mock().calls.filter((c) => c.cmd === "save_current_sale").length;

describe("the sale in progress, saved", () => {
  it("saves nothing before the saved sale is read back, so a restart never overwrites it", async () => {
    const p = (await api.catalogSearch("croissant", null, 1)).products[0];
    mock().db.currentSale = { cart: { lines: [{ product_id: p.id, quantity: 3, discount: null }], ticket_discount: null, customer_id: null }, customer_name: null };
    const sale = new Sale();
    const before = saves();
    await sale.save();
    expect(saves(), "not read back yet: nothing saved").toBe(before);
    await sale.load();
    expect(sale.lines.map((l) => l.quantity)).toEqual([3]);
    await sale.save();
    expect(saves(), "the sale as read back is not saved again").toBe(before);
    sale.setQuantity(0, 4);
    await sale.save();
    expect(saves()).toBe(before + 1);
    expect(mock().db.currentSale).toMatchObject({ cart: { lines: [{ quantity: 4 }] } });
  });

  it("parking empties the register and the saved sale; recalling brings it back", async () => {
    mock().db.currentSale = null;
    const sale = new Sale();
    await sale.load();
    const { products } = await api.catalogSearch("cola", null, 1);
    sale.add(products[0]);
    await sale.save();
    const parked = await sale.park("Later");
    expect(parked.label).toBe("Later");
    expect(sale.lines).toEqual([]);
    expect(mock().db.currentSale).toBeNull();
    const back = await sale.recall(parked.id);
    expect(back.lines.map((l) => l.product.name)).toEqual([products[0].name]);
    expect(sale.lines.map((l) => l.product.name)).toEqual([products[0].name]);
  });
});
